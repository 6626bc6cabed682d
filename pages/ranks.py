"""Tensor ranks: how many components each layer's update really uses (TensorLy rank sweeps)."""

from __future__ import annotations

import figs
import results
import streamlit as st
from picker import pick_run
from ui import chart, guard, page_title, show_caption, table, technical, tr

page_title("page_ranks")
st.markdown(tr("ranks_intro"))
run = pick_run("adapters")
layers = list(run.model.adapted_layers())
with technical():
    chosen = st.multiselect(
        tr("layers_to_analyse"), layers, default=layers[: min(4, len(layers))], key="rank_layers"
    )
with guard():
    if not chosen:
        st.info(tr("pick_a_layer"))
        st.stop()
    with st.spinner(tr("computing")):
        sweeps = results.rank_sweeps(run, tuple(chosen))
    st.subheader(tr("rank_curves_header"))
    chart(*figs.rank_curves(sweeps), key="rank_curves", title_key="rank_curves_header")

    st.subheader(tr("effective_rank_header"))
    table(figs.effective_rank_rows(sweeps))
    show_caption("caption_effective_rank")

    st.subheader(tr("spectra_header"))
    chart(*figs.core_spectra(sweeps), key="spectra", title_key="spectra_header")
