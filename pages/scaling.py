"""Scaling factors: those each input generates, per layer.

The page opens with its headline chart (how much each layer adapts to the kind of input) and its one
sentence; the details follow, folded in meeting mode: one layer's scaling factors for every input
(heatmap, distributions), and one input or two side by side.
"""

from __future__ import annotations

import functools

import streamlit as st

import metalora.figures as mf
from app import views
from app.picker import analysis_page, image_of
from app.ui import chart, choice, details, guard, lang, layer_picker, selectbox, show_caption, tr

run = analysis_page("page_scaling", "scaling_intro", "scaling")
view = views.analysis(run)
with guard():
    with st.spinner(tr("computing")):
        table = view.scaling_table()
    describe = functools.partial(views.describe, table, lang=lang())
    headline = st.container()  # drawn below, once the grouping of the details is known

    with details("scaling_layer_header"):
        layer = layer_picker(
            tr("layer"), table.layers, views.layer_names(table.layers, lang()), key="scaling_layer"
        )
        st.subheader(tr("scaling_heatmap_header"))
        chart(
            lambda: mf.scaling_heatmap(table, layer, lang=lang()),
            memo=(run.id, layer),
            key="scaling_heatmap",
            title_key="scaling_heatmap_header",
        )
        st.subheader(tr("scaling_dist_header"))
        by = choice("group_by", ["domain", "class"], "by_", horizontal=True)
        chart(
            lambda: mf.scaling_distributions(table, layer, by, lang=lang()),
            memo=(run.id, layer, by),
            key="scaling_dist",
            title_key="scaling_dist_header",
        )

    with headline:
        chart(
            lambda: mf.scaling_specificity(view.scaling_stats(by), lang=lang()),
            memo=(run.id, by),
            key="scaling_specific",
            title_key="page_scaling",
        )

    with details("scaling_input_header"):
        rows = list(range(len(table)))
        c1, c2 = st.columns(2)
        a = selectbox(tr("input_a"), rows, where=c1, format_func=describe, key="input_a")
        compare = c2.checkbox(tr("compare_two"), key="compare_two")
        b = None
        if compare:
            b = selectbox(
                tr("input_b"),
                rows,
                where=c2,
                index=min(1, len(rows) - 1),
                format_func=describe,
                key="input_b",
            )
        cols = st.columns(6)
        for k, row in enumerate([a] if b is None else [a, b]):
            cols[k].image(
                image_of(run, table.index[row]), caption=tr("input_label", k="AB"[k]), clamp=True, width=120
            )
        chart(
            lambda: mf.input_scaling(view.input_comparison(a, b), lang=lang()),
            memo=(run.id, a, b),
            key="scaling_inputs",
            title_key="scaling_input_header",
        )
        if b is not None:
            dist = view.scaling_distance(a, b, standardise=True)
            st.metric(tr("scaling_distance"), f"{dist.overall:.2f}")
            show_caption("caption_distance")
