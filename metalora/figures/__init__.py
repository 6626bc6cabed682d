"""Plotly figures for every analysis view, each with a plain caption in English and Japanese.

Every builder returns a :class:`Figure` (``.fig``: the Plotly figure; ``.caption["en"]``,
``.caption["ja"]``: one sentence on what it shows and what it means) and takes ``lang="en" | "ja"``
for its title, axis and legend labels. Colours are colour-blind safe (:mod:`.palette`); hover text
names the input or the run; scatter points carry the input's index in ``customdata``.

A builder only draws: it takes results that :mod:`metalora.analysis` computed (an application gets them
from :class:`metalora.analysis.RunAnalysis`, or for tables of runs from :mod:`metalora.analysis.runs`) and
computes no statistic of its own.
"""

import numpy as np

from .base import Figure
from .captions import (
    CAPTIONS,
    LABELS,
    LANGUAGES,
    caption,
    describe_input,
    label,
    layer_both,
    layer_hover,
    mode_name,
    term,
)
from .clusters import cluster_map, silhouette_vs_k
from .cost import accuracy_by_epochs, accuracy_vs_cost, domain_accuracy
from .ranks import component_energy_figure, effective_ranks, error_vs_rank, spectra_figure
from .scaling import input_scaling, scaling_distributions, scaling_heatmap, scaling_specificity

#: Every builder, by the key of its caption.
BUILDERS = {
    "scaling_heatmap": scaling_heatmap,
    "scaling_distributions": scaling_distributions,
    "input_scaling": input_scaling,
    "input_scaling_compare": input_scaling,
    "scaling_specificity": scaling_specificity,
    "error_vs_rank": error_vs_rank,
    "error_vs_rank_knee": error_vs_rank,
    "spectra": spectra_figure,
    "component_energy": component_energy_figure,
    "effective_ranks": effective_ranks,
    "cluster_map": cluster_map,
    "silhouette_vs_k": silhouette_vs_k,
    "accuracy_vs_cost": accuracy_vs_cost,
    "domain_accuracy": domain_accuracy,
    "accuracy_by_epochs": accuracy_by_epochs,
}

__all__ = [
    "BUILDERS",
    "CAPTIONS",
    "LABELS",
    "LANGUAGES",
    "Figure",
    "accuracy_by_epochs",
    "accuracy_vs_cost",
    "caption",
    "cluster_map",
    "component_energy_figure",
    "describe_input",
    "domain_accuracy",
    "effective_ranks",
    "error_vs_rank",
    "input_scaling",
    "label",
    "layer_both",
    "layer_hover",
    "mode_name",
    "report_figures",
    "scaling_distributions",
    "scaling_heatmap",
    "scaling_specificity",
    "silhouette_vs_k",
    "spectra_figure",
    "term",
]


def report_figures(report, lang: str = "en", layer: str | None = None) -> list[Figure]:
    """Every figure that an :class:`~metalora.analysis.report.AnalysisReport` supports, for ``layer``
    (default: the layer with the largest weight among those analysed). Layers are named for people among
    every layer the report knows (:func:`metalora.i18n.layer_names`)."""
    out: list[Figure] = []
    table = report.table
    layers = list(report.sweeps) or (table.layers if table is not None else [])
    if layer is None and layers:
        layer = max(layers, key=lambda n: int(np.prod(report.sweeps[n].shape)) if n in report.sweeps else 0)
    known = list(dict.fromkeys([*(table.layers if table is not None else []), *report.sweeps]))
    shown = layer_both(layer, known) if layer is not None else None
    if table is not None and layer in table.factors:
        out += [scaling_heatmap(table, layer, lang), scaling_distributions(table, layer, "domain", lang=lang)]
        out += [input_scaling(c, lang) for c in report.inputs]
        if "domain" in report.stats:
            out += [scaling_specificity(report.stats["domain"], lang)]
    if layer in report.sweeps:
        out += [
            error_vs_rank(report.sweeps[layer], lang, layer=shown),
            effective_ranks(report.sweeps, lang=lang, all_layers=known),
        ]
    if layer in report.spectra:
        out += [spectra_figure(report.spectra[layer], lang, layer=shown)]
    if layer in report.energy:
        out += [component_energy_figure(report.energy[layer], lang, layer=shown)]
    if report.clusters is not None and table is not None:
        out += [cluster_map(report.clusters, table, "domain", lang), silhouette_vs_k(report.clusters, lang)]
    return out
