"""Home: what MetaLoRA does in three sentences, the pipeline as a picture, and the one-button demo."""

from __future__ import annotations

import nav
import progress
import state
import streamlit as st
from ui import guard, lang, show_caption, tr

st.title(tr("home_title"))
for key in ("home_what_1", "home_what_2", "home_what_3"):
    st.markdown(f"- {tr(key)}")

nodes = ["node_input", "node_features", "node_mapping", "node_scaling", "node_update", "node_output"]
dot = "digraph { rankdir=LR; node [shape=box, style=rounded, fontname=Helvetica];\n"
dot += "\n".join(f'{n} [label="{tr(n)}"];' for n in nodes)
dot += "\nnode_input -> node_features -> node_mapping -> node_scaling -> node_update -> node_output;"
dot += "\nnode_input -> node_update [style=dashed]; }"
st.graphviz_chart(dot)
show_caption("pipeline_caption")

st.header(tr("demo_header"))
st.markdown(tr("demo_explain"))
job = state.job()
busy = job is not None and job.active
if st.button(tr("demo_button"), type="primary", disabled=busy, key="run_demo"):
    with guard():
        import demo  # loads torch and the library: only when asked for

        if demo.start_demo():
            st.rerun()
progress.job_panel()

if state.runs():
    st.subheader(tr("demo_next"))
    for key in ("scaling", "ranks", "clusters", "accuracy", "runs"):
        cols = st.columns([1, 3])
        with cols[0]:
            nav.link(key, lang())
        cols[1].markdown(tr(f"next_{key}"))
