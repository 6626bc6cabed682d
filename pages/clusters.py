"""Adaptation clusters: do inputs of one kind get similar adapters, without being told their kind?"""

from __future__ import annotations

import math

import streamlit as st

import metalora.figures as mf
from app import views
from app.picker import analysis_page, image_of, selected_rows
from app.ui import chart, choice, guard, lang, show_caption, tr

run = analysis_page("page_clusters", "clusters_intro", "scaling")
with guard():
    with st.spinner(tr("computing")):
        table = views.analysis(run).scaling_table()
        result = views.analysis(run).clusters()
    ari, nmi = result.ari.get("domain", math.nan), result.nmi.get("domain", math.nan)
    c1, c2, c3 = st.columns(3)
    c1.metric(tr("ari"), "–" if math.isnan(ari) else f"{ari:.2f}")
    c2.metric(tr("nmi"), "–" if math.isnan(nmi) else f"{nmi:.2f}")
    c3.metric(tr("groups_found"), result.k)
    reading = views.cluster_reading(result, table)  # strong / partial / weak / one_domain, from ARI and NMI
    show_caption(f"reading_{reading}", ari=f"{ari:.2f}", nmi=f"{nmi:.2f}")

    color_by = choice("color_by", ["cluster", "domain", "class"], "by_", horizontal=True)
    figure = mf.cluster_map(result, views.named_table(table, lang()), color_by, lang=lang())
    event = chart(
        figure,
        key="cluster_map",
        title_key="page_clusters",
        on_select="rerun",
        selection_mode=("points", "box", "lasso"),
    )
    rows = selected_rows(event)
    st.subheader(tr("selected_inputs", n=len(rows)))
    if not rows:
        st.caption(tr("select_hint"))
    cols = st.columns(8)
    for k, row in enumerate(rows[:24]):
        name = views.describe(table, row, lang())
        cols[k % 8].image(image_of(run, table.index[row]), caption=name, clamp=True, width=96)
