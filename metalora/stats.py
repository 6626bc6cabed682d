"""Aggregating run rows over their repeats (random seeds): mean, spread and count, never the best run.

The one aggregation of the project: :func:`metalora.training.compare`, the analysis views, the dashboard and
the benchmark report all call :func:`aggregate_runs`. A leaf module (NumPy only).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from .errors import DataError

__all__ = ["aggregate_runs", "flatten_row", "mean_std", "value"]


def value(row: dict, key: str) -> float:
    """``row[key]`` as a float (NaN when missing or not a number)."""
    v = row.get(key)
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def mean_std(values: Iterable[float]) -> tuple[float, float, int]:
    """``(mean, sample std with ddof=1, n)`` of the finite values (NaN where undefined)."""
    vals = np.array([float(v) for v in values], float)
    vals = vals[np.isfinite(vals)]
    mean = float(vals.mean()) if len(vals) else math.nan
    std = float(vals.std(ddof=1)) if len(vals) > 1 else math.nan
    return mean, std, len(vals)


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
            row[f"{m}_mean"], row[f"{m}_std"], row[f"{m}_n"] = mean_std(value(r, m) for r in members)
        out.append(row)
    return out
