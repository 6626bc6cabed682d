"""Home: what MetaLoRA does in three sentences, and the pipeline as a picture."""

from __future__ import annotations

import streamlit as st
from strings import t

lang = st.session_state.get("lang", "en")
st.title(t("home_title", lang))
for key in ("home_what_1", "home_what_2", "home_what_3"):
    st.markdown(f"- {t(key, lang)}")

nodes = ["node_input", "node_features", "node_mapping", "node_seed", "node_update", "node_output"]
dot = "digraph { rankdir=LR; node [shape=box, style=rounded, fontname=Helvetica];\n"
dot += "\n".join(f'{n} [label="{t(n, lang)}"];' for n in nodes)
dot += "\nnode_input -> node_features -> node_mapping -> node_seed -> node_update -> node_output;"
dot += "\nnode_input -> node_update [style=dashed]; }"
st.graphviz_chart(dot)
st.caption(t("pipeline_caption", lang))
