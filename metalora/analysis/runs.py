"""Tables of runs: the Pareto front over accuracy and a cost, and the summaries the accuracy figures draw.

A *run row* is a plain dict, e.g. ``{"method": "meta-tr", "rank": 8, "seed": 0, "accuracy": 0.91,
"flops": 1.1e8, "trainable": 53072, "train_time_s": 42.0, "per_domain": {"clean": 0.95, ...}}``.
Training time and the like come from whatever produced the rows (a run registry); nothing here needs
to know where they were measured. Aggregation over repeats (random seeds) is :func:`metalora.stats.aggregate_runs`,
the one aggregation of the project; :func:`summarise_domains` and :func:`summarise_epochs` call it with the
grouping that :func:`metalora.figures.domain_accuracy` and :func:`metalora.figures.accuracy_by_epochs` draw.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import DataError
from ..stats import aggregate_runs, flatten_row, value

__all__ = ["aggregate_runs", "pareto_front", "pareto_mask", "summarise_domains", "summarise_epochs"]


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


def _runs(rows: Iterable[dict]) -> list[dict]:
    rows = [flatten_row(dict(r)) for r in rows]
    if not rows:
        raise DataError("There are no runs to plot.", "Train and evaluate at least one model first.")
    return rows


def summarise_domains(rows: Iterable[dict], label_key: str = "method") -> list[dict]:
    """Per-domain accuracy of raw run rows, aggregated over repeats: one row per ``label_key`` (and rank).

    Rows are grouped by ``(label_key, "rank")`` when any row has a rank, else by ``label_key``; each
    result row holds ``per_domain.<d>_mean`` / ``_std`` / ``_n`` (see :func:`metalora.stats.aggregate_runs`).
    """
    rows = _runs(rows)
    if not any(k.startswith("per_domain.") for r in rows for k in r):
        raise DataError("The runs carry no per-domain accuracy.", "Evaluate with domain labels (per_domain).")
    by = (label_key, "rank") if any("rank" in r for r in rows) else (label_key,)
    return aggregate_runs(rows, by=by)


def summarise_epochs(rows: Iterable[dict], label_key: str = "method") -> list[dict]:
    """Accuracy of raw run rows per ``(label_key, epochs)``, aggregated over repeats.

    Every row must say how many ``epochs`` it trained; each result row holds ``accuracy_mean``,
    ``accuracy_std``, ``accuracy_n`` and ``n``.
    """
    rows = _runs(rows)
    if any("epochs" not in r for r in rows):
        raise DataError(
            "Some runs do not say how many epochs they trained.", "Give every run an 'epochs' value."
        )
    return aggregate_runs(rows, by=(label_key, "epochs"), metrics=("accuracy",))
