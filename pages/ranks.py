"""Tensor ranks: how many components each layer's update really uses (TensorLy rank sweeps).

The page opens with its headline chart (the effective rank of every layer analysed against the rank it
was given) and its one sentence; the details follow, folded in meeting mode: which layers to analyse, one
layer's error against rank and the strength of each direction of its learned factors.
"""

from __future__ import annotations

import streamlit as st

import metalora.figures as mf
from app import views
from app.picker import analysis_page
from app.ui import chart, details, guard, lang, layer_picker, multiselect, tr

run = analysis_page("page_ranks", "ranks_intro", "adapters")
view = views.analysis(run)
names = views.layer_names(view.layers, lang())  # the layers' names for people, as the charts show them
headline = st.container()  # drawn once the layers (chosen in the details) are analysed
more = details("ranks_details")
with more:
    chosen = multiselect(
        tr("layers_to_analyse"),
        view.layers,
        default=view.layers[: views.RANK_LAYERS],
        format_func=lambda n: names.get(n, n),
        key="rank_layers",
    )
with guard():
    if not chosen:
        headline.info(tr("pick_a_layer"))
        st.stop()
    with st.spinner(tr("computing")):
        sweeps = view.rank_sweeps(chosen)
        spectra = view.spectra(chosen)

    given = {n: r for n, r in view.adapter_ranks().items() if n in sweeps}
    with headline:
        chart(
            lambda: mf.effective_ranks(sweeps, given, lang=lang(), all_layers=view.layers),
            memo=(run.id, tuple(chosen)),
            key="effective_ranks",
            title_key="effective_rank_header",
        )

    with more:
        st.subheader(tr("rank_curves_header"))
        layer = layer_picker(tr("layer"), chosen, names, key="rank_layer")
        shown = mf.layer_both(layer, view.layers)
        chart(
            lambda: mf.error_vs_rank(sweeps[layer], lang=lang(), layer=shown),
            memo=(run.id, layer),
            key="rank_curves",
            title_key="rank_curves_header",
        )

        st.subheader(tr("spectra_header"))
        if spectra.get(layer):
            chart(
                lambda: mf.spectra_figure(spectra[layer], lang=lang(), layer=shown),
                memo=(run.id, layer),
                key="spectra",
                title_key="spectra_header",
            )
        else:
            st.info(tr("no_spectra"))
