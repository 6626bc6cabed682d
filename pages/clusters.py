"""Adaptation clusters: do inputs of one kind get similar adapters, without being told their kind?

The page opens with its sentence (what the measured agreement says, and which kinds of input get a group of
their own or share one) and its headline chart (the map of the inputs, coloured by kind of input); the
details follow, folded in meeting mode: the scores (ARI, NMI, each explained in one sentence) and the
colouring; the images of the dots selected on the map show right under it.
"""

from __future__ import annotations

import math

import streamlit as st

import metalora.figures as mf
from app import glossary, views
from app.picker import analysis_page, image_of, selected_rows
from app.ui import chart, choice, details, guard, lang, show_text, tr

run = analysis_page("page_clusters", "clusters_intro", "scaling")
with guard():
    with st.spinner(tr("computing")):
        table = views.analysis(run).scaling_table()
        result = views.analysis(run).clusters()
    ari, nmi = result.ari.get("domain", math.nan), result.nmi.get("domain", math.nan)
    headline = st.container()  # the map, drawn once its colouring (chosen in the details) is known
    more = details("clusters_details")
    with more:
        c1, c2, c3 = st.columns(3)
        c1.metric(tr("ari"), "–" if math.isnan(ari) else f"{ari:.2f}", help=glossary.meaning("ari", lang()))
        c2.metric(tr("nmi"), "–" if math.isnan(nmi) else f"{nmi:.2f}", help=glossary.meaning("nmi", lang()))
        c3.metric(tr("groups_found"), result.k, help=glossary.meaning("cluster", lang()))
        if result.embedding == "pca":
            st.caption(glossary.meaning("pca", lang()))
        color_by = choice("color_by", ["domain", "cluster", "class"], "by_", horizontal=True)

    with headline:  # what the scores say first, in one plain sentence, then the map that shows it
        show_text(views.cluster_story(views.analysis(run), lang()))
        event = chart(
            lambda: mf.cluster_map(result, table, color_by, lang=lang()),
            memo=(run.id, color_by),
            key="cluster_map",
            title_key="page_clusters",
            on_select="rerun",
            selection_mode=("points", "box", "lasso"),
        )
        rows = selected_rows(event)  # the images of the dots selected, right under the map
        if rows:
            st.subheader(tr("selected_inputs", n=len(rows)))
            cols = st.columns(8)
            for k, row in enumerate(rows[:24]):
                name = views.describe(table, row, lang())
                cols[k % 8].image(image_of(run, table.index[row]), caption=name, clamp=True, width=96)

    if not rows:
        more.caption(tr("select_hint"))
