"""The one door from an application to the analyses of a trained model: :class:`RunAnalysis`.

A dashboard (or a notebook) holds one :class:`RunAnalysis` per run it shows and asks it for views; each
view is computed once, on first request, and kept in that object only (no module-level cache), so a
caller decides where it lives (the dashboard keeps it in the user's session). The methods are thin: the
work is done by the plain functions of :mod:`metalora.analysis`, which stay usable on their own, and
:func:`metalora.analysis.report.analyse_model` (the command line's report) is built on this class too.
Every view is what a :mod:`metalora.figures` builder draws, so a page computes nothing itself.

>>> view = RunAnalysis(model, splits.test)            # doctest: +SKIP
>>> view.scaling_table(), view.clusters()             # doctest: +SKIP
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data import ImageDataset
from ..methods import get_method
from .clusters import ClusterResult, KindGroups, cluster_scaling, kind_groups
from .cost import CostReport, LatencyComparison, compare_latency, cost_report, measure_latency
from .ranks import RankSweep
from .scaling import ScalingTable, collect_scaling
from .scaling_summaries import (
    GroupStats,
    InputComparison,
    ScalingDistance,
    compare_inputs,
    scaling_distance,
    scaling_stats,
)
from .spectra import ComponentEnergy, Spectrum, component_energy, core_spectra
from .updates import model_rank_sweeps

__all__ = ["RunAnalysis"]

MAX_INPUTS = 400
"""Inputs kept for the scaling-factor views (a random, reproducible subset of the data)."""
RANK_INPUTS = 48
"""Inputs whose per-input updates are stacked for the rank sweeps of a MetaLoRA layer."""
LATENCY_BATCH = 16
"""Batch size of the latency measurement."""
WARM_RANK_LAYERS = 3
"""Adapted layers whose rank sweeps :meth:`RunAnalysis.warm` computes (the dashboard's default choice)."""
WARM_MAX_WEIGHTS = 2**17
"""The largest weight (elements of W0) of a layer whose rank sweep :meth:`RunAnalysis.warm` computes: a sweep
takes about 0.05 s on the sample models' layers (under 40 k weights) and seconds on a wide backbone layer,
which a training thread should not spend on a view nobody may open."""
PAIRED_ROUNDS = 9
"""Rounds of the paired latency measurement (:meth:`RunAnalysis.latency_against`): odd, so the median is one
round's difference."""


class RunAnalysis:
    """Every analysis view of one adapted ``model`` on one data set, each computed once on demand.

    Parameters
    ----------
    model
        A trained :class:`~metalora.MetaLoRAModel` (or a plain module, for the cost views only).
    data
        The inputs to analyse (usually the test split), with their classes and domains.
    max_inputs, rank_inputs, latency_batch
        Sizes of the views (see the module constants).
    seed
        The random seed that picks the subset of inputs.
    """

    def __init__(
        self,
        model: nn.Module,
        data: ImageDataset,
        *,
        max_inputs: int = MAX_INPUTS,
        rank_inputs: int = RANK_INPUTS,
        latency_batch: int = LATENCY_BATCH,
        seed: int = 0,
    ):
        self.model = model
        self.data = data
        self.max_inputs, self.rank_inputs, self.latency_batch = max_inputs, rank_inputs, latency_batch
        self.seed = seed
        self._memo: dict[Hashable, Any] = {}
        self._lock = threading.RLock()  # a warm-up thread and a page may ask at the same time

    # -- what the model is ----------------------------------------------------------------------
    @property
    def method(self) -> str | None:
        """The method id (``"meta-tr"`` ...), or None for a module without adapters."""
        config = getattr(self.model, "config", None)
        return getattr(config, "method", None)

    @property
    def has_scaling(self) -> bool:
        """True when the layers' updates have a core, so there are scaling factors to look at."""
        return self.method is not None and get_method(self.method).has_core

    @property
    def layers(self) -> list[str]:
        """The adapted layers, in the model's order ([] for a module without adapters)."""
        adapted = getattr(self.model, "adapted_layers", None)
        return list(adapted()) if adapted is not None else []

    def _once(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    # -- the views ------------------------------------------------------------------------------
    def scaling_table(self) -> ScalingTable:
        """The scaling factors of every adapted layer for up to ``max_inputs`` inputs."""
        return self._once(
            "scaling",
            lambda: collect_scaling(self.model, self.data, max_inputs=self.max_inputs, seed=self.seed),
        )

    def scaling_stats(self, by: str = "domain") -> dict[str, GroupStats]:
        """Per layer, how much of the scaling factors' variation the domain (or class) explains."""
        return self._once(("scaling_stats", by), lambda: scaling_stats(self.scaling_table(), by=by))

    def scaling_distance(self, i: int, j: int, standardise: bool = True) -> ScalingDistance:
        """How far apart two inputs' scaling factors are (rows ``i`` and ``j`` of :meth:`scaling_table`)."""
        return scaling_distance(self.scaling_table(), i, j, standardise=standardise)

    def input_comparison(self, row: int, other: int | None = None) -> InputComparison:
        """Row ``row``'s scaling factors next to the average input, or next to row ``other`` (with their
        distance, standardised like :meth:`scaling_distance`): what :func:`metalora.figures.input_scaling`
        draws."""
        return self._once(
            ("input", row, other), lambda: compare_inputs(self.scaling_table(), row, other, standardise=True)
        )

    def _layers(self, layers: Sequence[str] | None) -> tuple[str, ...]:
        return tuple(self.layers if layers is None else layers)

    def _table_if_meta(self) -> ScalingTable | None:
        """The scaling table when the updates depend on the input (MetaLoRA), else None (not needed)."""
        return self.scaling_table() if getattr(getattr(self.model, "config", None), "meta", False) else None

    def rank_sweeps(self, layers: Sequence[str] | None = None) -> dict[str, RankSweep]:
        """Error-against-rank sweeps (CP, Tucker, Tensor Ring) of the updates of ``layers`` (default all)."""
        layers = self._layers(layers)
        return self._once(
            ("ranks", layers),
            lambda: model_rank_sweeps(
                self.model,
                self._table_if_meta(),
                layers=list(layers),
                n_inputs=self.rank_inputs,
                seed=self.seed,
            ),
        )

    def spectra(self, layers: Sequence[str] | None = None) -> dict[str, list[Spectrum]]:
        """Singular values of every unfolding of every learned factor of ``layers`` (default all)."""
        layers = self._layers(layers)
        return self._once(("spectra", layers), lambda: core_spectra(self.model, list(layers)))

    def component_energy(self, layers: Sequence[str] | None = None) -> dict[str, ComponentEnergy]:
        """Each scaling factor's share of the update's energy, per layer of ``layers`` (default all).

        LoRA has no scaling factors: :class:`~metalora.errors.ConfigError`.
        """
        layers = self._layers(layers)
        return self._once(
            ("energy", layers), lambda: component_energy(self.model, self._table_if_meta(), list(layers))
        )

    def adapter_ranks(self) -> dict[str, int]:
        """``{layer: rank given to its adapter}``, in the model's order (the dashed line of the ranks chart)."""
        adapted = getattr(self.model, "adapted_layers", None)
        return {n: int(a.rank) for n, a in adapted().items()} if adapted is not None else {}

    def clusters(self) -> ClusterResult:
        """The inputs clustered by their scaling factors (k by silhouette) and placed on a 2-D map."""
        return self._once("clusters", lambda: cluster_scaling(self.scaling_table(), random_state=self.seed))

    def kind_groups(self) -> KindGroups:
        """Which kinds of input get a group of their own in :meth:`clusters`, which share one, which are spread."""
        return kind_groups(self.clusters(), self.scaling_table().domain_names)

    def cost_report(self, batch_size: int = 64) -> CostReport:
        """Every measured cost (parameters, FLOPs, latency, memory, storage) on ``batch_size`` inputs."""
        return self._once(
            ("cost", batch_size),
            lambda: cost_report(self.model, torch.as_tensor(np.asarray(self.data.x[:batch_size]))),
        )

    def latency_s(self) -> float:
        """Median wall time of one forward pass on a batch of ``latency_batch`` inputs (seconds)."""

        def measure() -> float:
            x = torch.as_tensor(self.data.x[: self.latency_batch])
            return float(measure_latency(self.model, x, repeats=5, warmup=1)["median_s"])

        return self._once("latency", measure)

    def latency_against(self, reference: RunAnalysis) -> LatencyComparison:
        """This model timed against ``reference``'s model, in turns on the same batch (the first
        ``latency_batch`` of this analysis's inputs), :data:`PAIRED_ROUNDS` rounds after one warm-up
        round (:func:`~metalora.analysis.cost.compare_latency`): the models are named ``"model"`` and
        ``"reference"``, and ``diff_s["model"]`` is the paired difference (seconds per batch).

        Measured once per reference and kept here, like every view; the reference is held weakly (an
        analysis does not keep another run's model alive) and a new reference is measured anew.
        """
        key = ("latency_against", id(reference))
        with self._lock:
            kept = self._memo.get(key)
            if kept is not None and kept[0]() is reference:
                return kept[1]
            x = torch.as_tensor(np.asarray(self.data.x[: self.latency_batch]))
            result = compare_latency(
                {"model": self.model, "reference": reference.model},
                x,
                repeats=PAIRED_ROUNDS,
                warmup=1,
                reference="reference",
            )
            self._memo[key] = (weakref.ref(reference), result)
            return result

    def contractions(self) -> dict[str, dict[str, int]]:
        """How many adapted layers ran each contraction (``factored``, ``composed``, ``kernel``), in training
        (as recorded when the adapter was saved) and in inference (the analysis's own passes so far):
        ``{"train": {path: layers}, "infer": {...}}``, empty for a model without adapters."""
        table = self.model.layer_table() if hasattr(self.model, "layer_table") else []
        counts: dict[str, dict[str, int]] = {"train": {}, "infer": {}}
        for row in table:
            for mode, key in (("train", "contraction"), ("infer", "contraction_inference")):
                if row.get(key):
                    counts[mode][row[key]] = counts[mode].get(row[key], 0) + 1
        return counts

    def warm(self, rank_layers: int = WARM_RANK_LAYERS) -> None:
        """Compute ahead of time (e.g. in a training thread) the views an analysis page opens with, so its
        first visit only draws: with scaling factors, the scaling table, the clusters and the scaling
        statistics by kind of input; for any adapter, the rank sweeps and spectra of its first
        ``rank_layers`` adapted layers (the layers a dashboard analyses first), when each of them has at
        most :data:`WARM_MAX_WEIGHTS` weights (else the sweeps wait until they are asked for). Nothing for a
        module without adapters."""
        if self.has_scaling:
            self.clusters()
            self.scaling_stats("domain")
        adapted = self.model.adapted_layers() if self.layers else {}
        chosen = list(adapted)[: max(0, rank_layers)]
        if chosen and all(adapted[n].base_layer.weight.numel() <= WARM_MAX_WEIGHTS for n in chosen):
            self.rank_sweeps(chosen)
            self.spectra(chosen)
