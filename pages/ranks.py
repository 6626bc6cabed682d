"""Tensor ranks: how many components each layer's update really uses (TensorLy rank sweeps)."""

from __future__ import annotations

import results
import streamlit as st
from picker import pick_run
from ui import chart, guard, lang, page_title, technical, tr

import metalora.figures as mf

page_title("page_ranks")
st.markdown(tr("ranks_intro"))
run = pick_run("adapters")
layers = list(run.model.adapted_layers())
with technical():
    chosen = st.multiselect(
        tr("layers_to_analyse"), layers, default=layers[: min(3, len(layers))], key="rank_layers"
    )
with guard():
    if not chosen:
        st.info(tr("pick_a_layer"))
        st.stop()
    with st.spinner(tr("computing")):
        sweeps = results.rank_sweeps(run, tuple(chosen))
        spectra = results.spectra(run, tuple(chosen))

    st.subheader(tr("effective_rank_header"))
    given = {n: a.rank for n, a in run.model.adapted_layers().items() if n in sweeps}
    chart(
        mf.effective_ranks(sweeps, given, lang=lang()),
        key="effective_ranks",
        title_key="effective_rank_header",
    )

    st.subheader(tr("rank_curves_header"))
    layer = st.selectbox(tr("layer"), chosen, key="rank_layer")
    chart(mf.error_vs_rank(sweeps[layer], lang=lang()), key="rank_curves", title_key="rank_curves_header")

    st.subheader(tr("spectra_header"))
    if spectra.get(layer):
        chart(
            mf.spectra_figure(spectra[layer], lang=lang(), layer=layer),
            key="spectra",
            title_key="spectra_header",
        )
    else:
        st.info(tr("no_spectra"))
