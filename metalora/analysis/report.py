"""All analyses of one adapted model in one call, for the command line and the dashboard.

>>> report = analyse_model(model, data)            # doctest: +SKIP
>>> json.dump(report.to_dict(), f)                 # doctest: +SKIP
>>> figs = metalora.figures.report_figures(report)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import MetaLoRAError
from ._common import to_jsonable
from .clusters import ClusterResult, cluster_scaling
from .cost import CostReport, cost_report
from .ranks import RankSweep
from .scaling import GroupStats, ScalingTable, collect_scaling, scaling_stats
from .spectra import ComponentEnergy, Spectrum, component_energy, core_spectra
from .updates import model_rank_sweeps

__all__ = ["ANALYSES", "AnalysisReport", "analyse_model"]

ANALYSES = ("scaling", "ranks", "clusters", "cost")


@dataclass
class AnalysisReport:
    """Results of :func:`analyse_model`; a part that was not asked for (or does not apply) is None,
    and ``skipped`` says why."""

    method: str
    table: ScalingTable | None = None
    stats: dict[str, dict[str, GroupStats]] = field(default_factory=dict)  # by -> layer -> stats
    sweeps: dict[str, RankSweep] = field(default_factory=dict)
    spectra: dict[str, list[Spectrum]] = field(default_factory=dict)
    energy: dict[str, ComponentEnergy] = field(default_factory=dict)
    clusters: ClusterResult | None = None
    cost: CostReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready (arrays as lists, NaN as null)."""
        return to_jsonable(self)


def analyse_model(
    model,
    data,
    *,
    include: Sequence[str] = ANALYSES,
    max_inputs: int | None = 2000,
    layers: Sequence[str] | None = None,
    seed: int = 0,
    cost_batch: int = 64,
) -> AnalysisReport:
    """Run the analyses in ``include`` on ``model`` over ``data`` (an ImageDataset).

    A step that does not apply to the method (seeds of LoRA, clusters of a static method) is skipped
    with the reason in ``report.skipped`` instead of failing the whole report.
    """
    report = AnalysisReport(method=model.config.method)

    def step(name: str, fn) -> None:
        t0 = time.perf_counter()
        try:
            fn()
        except MetaLoRAError as err:
            report.skipped[name] = str(err)
        report.seconds[name] = time.perf_counter() - t0

    if "scaling" in include or "clusters" in include or "ranks" in include:
        if model.config.tensor_format != "lora":

            def seeds() -> None:
                report.table = collect_scaling(model, data, max_inputs=max_inputs, seed=seed)
                report.stats = {by: scaling_stats(report.table, by) for by in ("domain", "class")}

            step("scaling", seeds)
        else:
            report.skipped["scaling"] = "LoRA has no scaling factors."
    if "ranks" in include:

        def ranks() -> None:
            report.sweeps = model_rank_sweeps(model, report.table, layers=layers, seed=seed)
            report.spectra = core_spectra(model, layers)
            if model.config.tensor_format != "lora" and (report.table is not None or not model.config.meta):
                report.energy = component_energy(model, report.table, layers)

        step("ranks", ranks)
    if "clusters" in include and report.table is not None:
        step(
            "clusters", lambda: setattr(report, "clusters", cluster_scaling(report.table, random_state=seed))
        )
    if "cost" in include:
        x = torch.as_tensor(np.asarray(data.x[:cost_batch]))
        step("cost", lambda: setattr(report, "cost", cost_report(model, x)))
    return report
