"""Tables of runs: the Pareto front over accuracy and a cost, and aggregation over seeds.

A *run row* is a plain dict, e.g. ``{"method": "meta-tr", "rank": 8, "seed": 0, "accuracy": 0.91,
"flops": 1.1e8, "trainable": 53072, "train_time_s": 42.0, "per_domain": {"clean": 0.95, ...}}``.
Training time and the like come from whatever produced the rows (a run registry); nothing here needs
to know where they were measured.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import DataError

__all__ = ["aggregate_runs", "flatten_row", "pareto_front", "pareto_mask"]


def _value(row: dict, key: str) -> float:
    v = row.get(key)
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def pareto_mask(rows: Sequence[dict], maximise: str = "accuracy", minimise: str = "flops") -> np.ndarray:
    """(len(rows),) bool: True where no other row is at least as good on both and better on one.

    Rows missing either value (or holding NaN) are never on the front. Exact duplicates are all kept.
    """
    good = np.array([_value(r, maximise) for r in rows], float)
    cost = np.array([_value(r, minimise) for r in rows], float)
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
    return sorted(front, key=lambda r: (_value(r, minimise), -_value(r, maximise)))


def flatten_row(row: dict, sep: str = ".") -> dict:
    """Nested dicts become dotted keys: ``{"per_domain": {"clean": .9}}`` -> ``{"per_domain.clean": .9}``."""
    out = {}
    for k, v in row.items():
        if isinstance(v, dict):
            for k2, v2 in flatten_row(v, sep).items():
                out[f"{k}{sep}{k2}"] = v2
        else:
            out[k] = v
    return out


def _is_number(v) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def aggregate_runs(
    rows: Iterable[dict],
    by: Sequence[str] = ("method", "rank"),
    metrics: Sequence[str] | None = None,
    ignore: Sequence[str] = ("seed",),
) -> list[dict]:
    """Mean and spread of every metric over the runs (e.g. seeds) of each group — never the best run.

    Parameters
    ----------
    rows : iterable of dict
        Run rows; nested dicts (``per_domain``) are flattened to dotted keys first.
    by : sequence of str
        Keys that define a group (missing keys count as None).
    metrics : sequence of str or None
        Metrics to aggregate; default every numeric key except ``by`` and ``ignore``.

    Returns
    -------
    list of dict
        One row per group, in order of first appearance: the ``by`` keys, ``n`` (runs in the group),
        and for each metric ``<m>_mean``, ``<m>_std`` (sample standard deviation, ddof=1; NaN for a single
        run) and ``<m>_n`` (runs that had a finite value).
    """
    flat = [flatten_row(dict(r)) for r in rows]
    if not flat:
        raise DataError("There are no runs to aggregate.", "Train at least one model first.")
    if metrics is None:
        skip = set(by) | set(ignore)
        metrics = []
        for r in flat:
            for k, v in r.items():
                if k not in skip and k not in metrics and _is_number(v):
                    metrics.append(k)
    groups: dict[tuple, list[dict]] = {}
    for r in flat:
        groups.setdefault(tuple(r.get(k) for k in by), []).append(r)
    out = []
    for key, members in groups.items():
        row = dict(zip(by, key, strict=True))
        row["n"] = len(members)
        for m in metrics:
            vals = np.array([_value(r, m) for r in members], float)
            vals = vals[np.isfinite(vals)]
            row[f"{m}_mean"] = float(vals.mean()) if len(vals) else math.nan
            row[f"{m}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else math.nan
            row[f"{m}_n"] = len(vals)
        out.append(row)
    return out
