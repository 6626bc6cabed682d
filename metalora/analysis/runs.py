"""Tables of runs: the Pareto front over accuracy and a cost (aggregation over seeds: :mod:`metalora.stats`).

A *run row* is a plain dict, e.g. ``{"method": "meta-tr", "rank": 8, "seed": 0, "accuracy": 0.91,
"flops": 1.1e8, "trainable": 53072, "train_time_s": 42.0, "per_domain": {"clean": 0.95, ...}}``.
Training time and the like come from whatever produced the rows (a run registry); nothing here needs
to know where they were measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..stats import aggregate_runs, flatten_row, value

__all__ = ["aggregate_runs", "flatten_row", "pareto_front", "pareto_mask"]


def pareto_mask(rows: Sequence[dict], maximise: str = "accuracy", minimise: str = "flops") -> np.ndarray:
    """(len(rows),) bool: True where no other row is at least as good on both and better on one.

    Rows missing either value (or holding NaN) are never on the front. Exact duplicates are all kept.
    """
    good = np.array([value(r, maximise) for r in rows], float)
    cost = np.array([value(r, minimise) for r in rows], float)
    ok = np.isfinite(good) & np.isfinite(cost)
    mask = ok.copy()
    for i in np.flatnonzero(ok):
        dominated = ok & (good >= good[i]) & (cost <= cost[i]) & ((good > good[i]) | (cost < cost[i]))
        mask[i] = not dominated.any()
    return mask


def pareto_front(rows: Sequence[dict], maximise: str = "accuracy", minimise: str = "flops") -> list[dict]:
    """The rows on the Pareto front (best ``maximise`` for its ``minimise``), cheapest first."""
    rows = list(rows)
    mask = pareto_mask(rows, maximise, minimise)
    front = [r for r, m in zip(rows, mask, strict=True) if m]
    return sorted(front, key=lambda r: (value(r, minimise), -value(r, maximise)))
