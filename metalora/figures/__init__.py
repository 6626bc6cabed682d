"""Plotly figures for every analysis view, each with a plain caption in English and Japanese.

Every builder returns a :class:`Figure` (``.fig``: the Plotly figure; ``.caption["en"]``,
``.caption["ja"]``: one sentence on what it shows and what it means) and takes ``lang="en" | "ja"``
for its title, axis and legend labels. Colours are colour-blind safe (:mod:`.palette`); hover text
names the input or the run; scatter points carry the input's index in ``customdata``.
"""

from .base import Figure
from .captions import CAPTIONS, LABELS, LANGUAGES, caption, label, term
from .clusters import cluster_map, silhouette_vs_k
from .cost import accuracy_vs_cost, domain_accuracy
from .ranks import component_energy_figure, effective_ranks, error_vs_rank, spectra_figure
from .seeds import input_seeds, seed_distributions, seed_heatmap, seed_specificity

#: Every builder, by the key of its caption.
BUILDERS = {
    "seed_heatmap": seed_heatmap,
    "seed_distributions": seed_distributions,
    "input_seeds": input_seeds,
    "input_seeds_compare": input_seeds,
    "seed_specificity": seed_specificity,
    "error_vs_rank": error_vs_rank,
    "spectra": spectra_figure,
    "component_energy": component_energy_figure,
    "effective_ranks": effective_ranks,
    "cluster_map": cluster_map,
    "silhouette_vs_k": silhouette_vs_k,
    "accuracy_vs_cost": accuracy_vs_cost,
    "domain_accuracy": domain_accuracy,
}

__all__ = [
    "BUILDERS",
    "CAPTIONS",
    "LABELS",
    "LANGUAGES",
    "Figure",
    "accuracy_vs_cost",
    "caption",
    "cluster_map",
    "component_energy_figure",
    "domain_accuracy",
    "effective_ranks",
    "error_vs_rank",
    "input_seeds",
    "label",
    "seed_distributions",
    "seed_heatmap",
    "seed_specificity",
    "silhouette_vs_k",
    "spectra_figure",
    "term",
]
