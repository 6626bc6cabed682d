"""Adaptation clusters: do inputs of one kind get similar adapters, without being told their kind?"""

from __future__ import annotations

import math

import results
import streamlit as st
from picker import image_of, pick_run
from ui import chart, choice, guard, lang, page_title, show_caption, tr

import metalora.figures as mf

page_title("page_clusters")
st.markdown(tr("clusters_intro"))
run = pick_run()
with guard():
    with st.spinner(tr("computing")):
        table = results.scaling_table(run)
        result = results.clusters(run)
    ari, nmi = result.ari.get("domain", math.nan), result.nmi.get("domain", math.nan)
    c1, c2, c3 = st.columns(3)
    c1.metric(tr("ari"), "–" if math.isnan(ari) else f"{ari:.2f}")
    c2.metric(tr("nmi"), "–" if math.isnan(nmi) else f"{nmi:.2f}")
    c3.metric(tr("groups_found"), result.k)
    show_caption("reading_good" if nmi >= 0.5 else "reading_weak")

    color_by = choice("color_by", ["cluster", "domain", "class"], "by_", horizontal=True)
    event = chart(
        mf.cluster_map(result, table, color_by, lang=lang()),
        key="cluster_map",
        title_key="page_clusters",
        on_select="rerun",
        selection_mode=("points", "box", "lasso"),
    )
    points = event.get("selection", {}).get("points", []) if event else []
    rows = []
    for p in points:  # customdata = [index in the data set, row in the table]; may arrive as {"0":, "1":}
        data = p.get("customdata")
        data = list(data.values()) if isinstance(data, dict) else data
        if isinstance(data, list | tuple) and len(data) >= 2:
            rows.append(int(data[1]))
    st.subheader(tr("selected_inputs", n=len(rows)))
    if not rows:
        st.caption(tr("select_hint"))
    cols = st.columns(8)
    for k, row in enumerate(rows[:24]):
        cols[k % 8].image(image_of(run, table.index[row]), caption=table.describe(row), clamp=True, width=96)
