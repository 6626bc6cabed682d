"""Summaries of a :class:`~metalora.analysis.scaling.ScalingTable`: per-group statistics, the components an
input uses most, and distances between inputs' seeds. They read only the table, so they are cheap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError
from ._common import to_jsonable

if TYPE_CHECKING:  # only for annotations: seeds.py re-exports this module
    from .scaling import ScalingTable

__all__ = [
    "GroupStats",
    "ScalingDistance",
    "component_usage",
    "grouping",
    "nearest_inputs",
    "scaling_distance",
    "scaling_stats",
]


@dataclass
class GroupStats:
    """Mean and spread of one layer's seed components per group (domain or class).

    ``mean``, ``std`` are (G, R); ``counts`` (G,); ``eta_squared`` (R,) is the share of each component's
    variance across inputs that the grouping explains (the correlation ratio η², 0 = the component
    ignores the group, 1 = it is constant within groups), and ``eta_squared_total`` that share for the
    whole seed vector: a one-number "how domain- (or class-) specific is this layer".
    """

    layer: str
    by: str
    groups: list[str]
    counts: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    eta_squared: np.ndarray
    eta_squared_total: float

    def rows(self) -> list[dict]:
        """Tidy rows: one per (group, component)."""
        return [
            {
                "layer": self.layer,
                self.by: g,
                "component": r,
                "mean": float(self.mean[k, r]),
                "std": float(self.std[k, r]),
                "n": int(self.counts[k]),
            }
            for k, g in enumerate(self.groups)
            for r in range(self.mean.shape[1])
        ]

    def to_dict(self) -> dict:
        return to_jsonable(self.__dict__)


def grouping(table: ScalingTable, by: str) -> tuple[np.ndarray, list[str]]:
    """``(labels (N,), names)`` of a grouping: ``"domain"``, ``"class"`` or ``"correct"``."""
    if by == "domain":
        return table.domain, table.domain_names
    if by == "class":
        return table.y, table.class_names
    if by == "correct":
        return table.correct.astype(np.int64), ["wrong", "correct"]
    raise ConfigError(f"by={by!r} is not a grouping.", "Use 'domain', 'class' or 'correct'.")


def scaling_stats(
    table: ScalingTable, by: str = "domain", layers: Sequence[str] | None = None
) -> dict[str, GroupStats]:
    """Per-layer mean and spread (std, ddof=0) of every seed component per domain / class.

    Groups with no input are left out.
    """
    labels, names = grouping(table, by)
    present = [g for g in range(len(names)) if np.any(labels == g)]
    result = {}
    for layer in table.layers if layers is None else layers:
        s = table.check_layer(layer).astype(np.float64)  # (N, R)
        mean = np.stack([s[labels == g].mean(0) for g in present])  # (G, R)
        std = np.stack([s[labels == g].std(0) for g in present])
        counts = np.array([int(np.sum(labels == g)) for g in present])
        total = ((s - s.mean(0)) ** 2).sum(0)  # (R,)
        between = (counts[:, None] * (mean - s.mean(0)) ** 2).sum(0)  # (R,)
        with np.errstate(invalid="ignore", divide="ignore"):
            eta = np.where(total > 0, between / total, 0.0)
        eta_total = float(between.sum() / total.sum()) if total.sum() > 0 else 0.0
        result[layer] = GroupStats(layer, by, [names[g] for g in present], counts, mean, std, eta, eta_total)
    return result


def component_usage(
    table: ScalingTable, row: int, k: int = 3, relative: bool = True
) -> dict[str, list[dict]]:
    """The ``k`` seed components that input ``row`` uses most, per layer.

    With ``relative=True`` a component scores by how far this input's value lies from the average input
    (a z-score: "what is special about this input"); otherwise by its absolute size ``|s_r|``.
    Returns ``{layer: [{"component", "value", "score"}, ...]}``, highest score first.
    """
    _check_row(table, row)
    out = {}
    for layer in table.layers:
        s = table.factors[layer].astype(np.float64)
        v = s[row]
        if relative:
            sd = s.std(0)
            score = np.where(sd > 0, (v - s.mean(0)) / np.where(sd > 0, sd, 1), 0.0)
        else:
            score = v
        order = np.argsort(-np.abs(score), kind="stable")[:k]
        out[layer] = [{"component": int(r), "value": float(v[r]), "score": float(score[r])} for r in order]
    return out


@dataclass
class ScalingDistance:
    """How far the seeds of rows ``i`` and ``j`` lie apart: per layer and over all layers."""

    i: int
    j: int
    metric: str
    per_layer: dict[str, float]
    overall: float

    def to_dict(self) -> dict:
        return to_jsonable(self.__dict__)


def _scaled(table: ScalingTable, layer: str, standardise: bool) -> np.ndarray:
    s = table.factors[layer].astype(np.float64)
    if not standardise:
        return s
    sd = s.std(0)
    return (s - s.mean(0)) / np.where(sd > 0, sd, 1.0)


def scaling_distance(
    table: ScalingTable, i: int, j: int, metric: str = "euclidean", standardise: bool = False
) -> ScalingDistance:
    """Distance between two inputs' seeds, per layer and overall.

    ``metric`` is ``"euclidean"`` (the overall value is the distance of the concatenated seeds, i.e. the
    root of the sum of squared per-layer distances) or ``"cosine"`` (1 - cosine similarity).
    ``standardise`` z-scores every component over the table first, so that layers whose seeds vary
    little are not drowned by the others.
    """
    if metric not in ("euclidean", "cosine"):
        raise ConfigError(f"metric={metric!r} is not supported.", "Use 'euclidean' or 'cosine'.")
    _check_row(table, i)
    _check_row(table, j)
    per, a_all, b_all = {}, [], []
    for layer in table.layers:
        s = _scaled(table, layer, standardise)
        a, b = s[i], s[j]
        per[layer] = _dist(a, b, metric)
        a_all.append(a)
        b_all.append(b)
    overall = _dist(np.concatenate(a_all), np.concatenate(b_all), metric)
    return ScalingDistance(int(i), int(j), metric, per, overall)


def _dist(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    if metric == "euclidean":
        return float(np.linalg.norm(a - b))
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(1.0 - a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def nearest_inputs(table: ScalingTable, row: int, k: int = 5, standardise: bool = True) -> list[int]:
    """The ``k`` rows whose (concatenated) seeds lie closest to row ``row``'s, nearest first."""
    _check_row(table, row)
    m = np.concatenate([_scaled(table, n, standardise) for n in table.layers], axis=1)
    d = np.linalg.norm(m - m[row], axis=1)
    d[row] = np.inf
    return [int(r) for r in np.argsort(d, kind="stable")[: min(k, len(table) - 1)]]


def _check_row(table: ScalingTable, row: int) -> None:
    if not 0 <= int(row) < len(table):
        raise ConfigError(f"Row {row} does not exist; the table has {len(table)} inputs.", "Pick 0..N-1.")
