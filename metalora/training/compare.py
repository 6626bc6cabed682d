"""Comparing methods over repeats: :func:`compare` trains every method with every random seed and reports
the mean, spread and count of each metric per method (:func:`metalora.stats.aggregate_runs`; never best-of).
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from torch import nn

from ..data import DataSplits
from ..data.data_source import StreamSpec
from ..data.spec import DataSpec
from ..errors import ConfigError, TrainingError, bullet_list
from ..methods import DEFAULT_RANK, method_ids
from ..models import resolve_model
from ..stats import aggregate_runs
from .loop import Progress, TrainConfig
from .methods import check_method, match_ranks
from .run import train_run
from .run_registry import RunRegistry

__all__ = ["ComparisonResult", "RunProgress", "aggregate", "compare", "with_seed"]


@dataclass
class RunProgress:
    """Progress of a comparison: run ``run`` of ``runs`` (1-based), and that run's :class:`Progress`."""

    run: int
    runs: int
    method: str
    seed: int
    progress: Progress | None = None


@dataclass
class ComparisonResult:
    """``rows``: one dict per run (tidy); ``aggregate``: one dict per method (mean, std, n over seeds)."""

    rows: list[dict[str, Any]]
    aggregate: list[dict[str, Any]]
    ranks: dict[str, int | None]
    counts: dict[str, int] = field(default_factory=dict)
    budget: int | None = None


def with_seed(config: TrainConfig, seed: int) -> TrainConfig:
    """A copy of ``config`` with another random seed."""
    return replace(config, seed=int(seed))


def compare(
    model: str | nn.Module,
    data: DataSpec | StreamSpec | DataSplits,
    methods: Sequence[str],
    seeds: int | Sequence[int] = 3,
    train_config: TrainConfig | None = None,
    *,
    budget: int | None = None,
    ranks: int | Mapping[str, int] | None = None,
    registry: RunRegistry | None = None,
    out_dir: str | os.PathLike | None = None,
    callback: Callable[[RunProgress], None] | None = None,
    cancel_event: threading.Event | None = None,
    **run_kwargs: Any,
) -> ComparisonResult:
    """Train every method with every random seed (the data stays the same) and aggregate.

    ``seeds`` is a number of repeats (seeds ``0..n-1``) or the list of seeds. ``budget`` picks each
    adapter method's rank with :func:`~metalora.training.methods.match_ranks`; otherwise ``ranks`` gives
    one rank for all or one per method (default :data:`~metalora.methods.DEFAULT_RANK`). A run that
    diverges is kept as a ``"failed"`` row and left out of its method's mean (``n_failed`` counts it);
    a cancel stops all.
    """
    for m in methods:
        check_method(m)
    if not methods:
        raise ConfigError("compare needs at least one method.", f"Choose from {bullet_list(method_ids())}.")
    seed_list = list(range(int(seeds))) if isinstance(seeds, int | np.integer) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError(f"seeds={seeds!r} gives no seed.", "Use e.g. seeds=3 or seeds=[0, 1, 2].")
    config = train_config or TrainConfig()
    splits = data.load() if isinstance(data, DataSpec | StreamSpec) else data
    options = dict(run_kwargs.pop("model_options", None) or {})
    base, name = resolve_model(model, splits, **options)
    counts: dict[str, int] = {}
    if budget is not None:
        if ranks is not None:
            raise ConfigError("Give either budget= or ranks=, not both.")
        match = match_ranks(lambda: copy.deepcopy(base), methods, int(budget))
        rank_of, counts = dict(match), match.counts
    elif isinstance(ranks, Mapping):
        rank_of = {m: ranks.get(m, DEFAULT_RANK) for m in methods}
    else:
        rank_of = {m: int(ranks or DEFAULT_RANK) for m in methods}
    rows: list[dict[str, Any]] = []
    jobs = [(s, m) for s in seed_list for m in methods]
    for i, (seed, method) in enumerate(jobs, start=1):

        def relay(p: Progress | None, i=i, method=method, seed=seed) -> None:
            if callback is not None:
                callback(RunProgress(i, len(jobs), method, seed, p))

        relay(None)
        row: dict[str, Any] = {"method": method, "seed": seed, "rank": rank_of.get(method)}
        try:
            res = train_run(
                base, data, method, with_seed(config, seed), rank=rank_of.get(method) or DEFAULT_RANK,
                registry=registry, out_dir=out_dir, callback=relay, cancel_event=cancel_event,
                model_name=name, model_options=options, **run_kwargs,
            )  # fmt: skip
        except TrainingError as err:
            rows.append({**row, "status": "failed", "error": str(err), "accuracy": float("nan")})
            continue
        test = res.metrics.get("test") or {}
        row.update(
            status="completed", accuracy=res.accuracy, run_id=res.id, trainable_params=res.trainable_params
        )
        row.update(total_params=res.total_params, flops=res.flops, train_time_s=res.train_time_s)
        row.update({f"acc_{d}": a for d, a in (test.get("per_domain") or {}).items()})
        rows.append(row)
    return ComparisonResult(rows, aggregate(rows, methods), rank_of, counts, budget)


def aggregate(rows: Sequence[Mapping[str, Any]], methods: Sequence[str]) -> list[dict[str, Any]]:
    """Per method, in the order given: :func:`~metalora.stats.aggregate_runs` over its completed runs
    (``<metric>_mean``, ``<metric>_std`` with ddof=1, ``<metric>_n``), plus ``n`` (completed runs) and
    ``n_failed`` (the rest)."""
    out = []
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        ok = [
            {k: v for k, v in r.items() if k not in ("status", "run_id")}
            for r in mine
            if r.get("status") == "completed"
        ]
        agg: dict[str, Any] = {"method": m, "rank": mine[0]["rank"] if mine else None}
        if ok:
            (summary,) = aggregate_runs(ok, by=("method",), ignore=("seed", "rank"))
            agg.update({k: v for k, v in summary.items() if k != "method"})
        agg.update(n=len(ok), n_failed=len(mine) - len(ok))
        out.append(agg)
    return out
