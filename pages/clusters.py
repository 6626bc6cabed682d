"""Adaptation clusters: do inputs of one kind get similar adapters, without being told their kind?"""

from __future__ import annotations

import figs
import results
import streamlit as st
from picker import image_of, pick_run
from ui import chart, choice, guard, page_title, show_caption, tr

page_title("page_clusters")
st.markdown(tr("clusters_intro"))
run = pick_run()
with guard():
    with st.spinner(tr("computing")):
        view = results.clusters(run)
    c1, c2 = st.columns(2)
    c1.metric(tr("ari"), f"{view.ari:.2f}")
    c2.metric(tr("nmi"), f"{view.nmi:.2f}")
    show_caption("reading_good" if view.nmi >= 0.5 else "reading_weak")

    color_by = choice("color_by", ["cluster", "domain", "class"], "by_", horizontal=True)
    event = chart(
        *figs.cluster_map(view, color_by),
        key="cluster_map",
        title_key="page_clusters",
        on_select="rerun",
        selection_mode=("points", "box", "lasso"),
    )
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    rows = [int(p["customdata"]) for p in points if "customdata" in p]
    rows = [r[0] if isinstance(r, list) else r for r in rows]
    st.subheader(tr("selected_inputs", n=len(rows)))
    if not rows:
        st.caption(tr("select_hint"))
    cols = st.columns(8)
    for k, row in enumerate(rows[:24]):
        cols[k % 8].image(
            image_of(run, view.table.index[row]), caption=view.table.describe(row), clamp=True, width=96
        )
