"""Analyses of an adapted model: scaling factors, tensor ranks, per-input clusters, accuracy and cost.

Every result is a plain dataclass of NumPy arrays, lists and dicts (``to_dict()`` gives JSON), so the
same analysis runs from Python, the command line and the dashboard; :mod:`metalora.figures` draws them.
An application goes through one door, :class:`RunAnalysis` (each view computed once per run); the plain
functions below are what it calls, usable on their own.

>>> view = RunAnalysis(model, data)                          # doctest: +SKIP
>>> table, clusters = view.scaling_table(), view.clusters()  # doctest: +SKIP
>>> table = collect_scaling(model, data)                     # doctest: +SKIP
>>> sweeps = model_rank_sweeps(model, table)                 # doctest: +SKIP
"""

from ..stats import aggregate_runs
from .clusters import ClusterResult, KindGroups, cluster_scaling, kind_groups
from .cost import (
    CostReport,
    cost_report,
    count_flops,
    flops_per_input,
    measure_latency,
    measure_peak_memory,
    measure_storage,
)
from .ranks import DEFAULT_TOL, RankSweep, compress, effective_rank, knee_rank, rank_sweep
from .report import ANALYSES, AnalysisReport, analyse_model, report_from
from .run_analysis import RunAnalysis
from .runs import pareto_front, pareto_mask, summarise_domains, summarise_epochs
from .scaling import InputFacts, ScalingTable, collect_scaling
from .scaling_summaries import (
    GroupStats,
    InputComparison,
    ScalingDistance,
    compare_inputs,
    component_usage,
    nearest_inputs,
    scaling_distance,
    scaling_stats,
)
from .spectra import ComponentEnergy, Spectrum, component_energy, core_spectra, unfolding_spectra
from .updates import analysis_view, layer_rank_sweep, model_rank_sweeps, update_tensor

__all__ = [
    "ANALYSES",
    "DEFAULT_TOL",
    "AnalysisReport",
    "ClusterResult",
    "ComponentEnergy",
    "CostReport",
    "GroupStats",
    "InputComparison",
    "InputFacts",
    "KindGroups",
    "RankSweep",
    "RunAnalysis",
    "ScalingDistance",
    "ScalingTable",
    "Spectrum",
    "aggregate_runs",
    "analyse_model",
    "analysis_view",
    "cluster_scaling",
    "collect_scaling",
    "compare_inputs",
    "component_energy",
    "component_usage",
    "compress",
    "core_spectra",
    "cost_report",
    "count_flops",
    "effective_rank",
    "flops_per_input",
    "kind_groups",
    "knee_rank",
    "layer_rank_sweep",
    "measure_latency",
    "measure_peak_memory",
    "measure_storage",
    "model_rank_sweeps",
    "nearest_inputs",
    "pareto_front",
    "pareto_mask",
    "rank_sweep",
    "report_from",
    "scaling_distance",
    "scaling_stats",
    "summarise_domains",
    "summarise_epochs",
    "unfolding_spectra",
    "update_tensor",
]
