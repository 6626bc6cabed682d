"""Summaries of a :class:`~metalora.analysis.scaling.ScalingTable`: per-group statistics, the components an
input uses most, distances between inputs' scaling factors, and one input next to the average (or to a
second input) for the bar chart. They read only the table, so they are cheap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ._common import to_jsonable
from .scaling import InputFacts, ScalingTable

__all__ = [
    "GroupStats",
    "InputComparison",
    "ScalingDistance",
    "compare_inputs",
    "component_usage",
    "nearest_inputs",
    "scaling_distance",
    "scaling_stats",
]


@dataclass
class GroupStats:
    """Mean and spread of one layer's scaling factors per group (domain or class).

    ``mean``, ``std`` are (G, R); ``counts`` (G,); ``eta_squared`` (R,) is the share of each factor's
    variance across inputs that the grouping explains (the correlation ratio η², 0 = the factor
    ignores the group, 1 = it is constant within groups), and ``eta_squared_total`` that share for the
    whole vector of scaling factors: a one-number "how domain- (or class-) specific is this layer".
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


def scaling_stats(
    table: ScalingTable, by: str = "domain", layers: Sequence[str] | None = None
) -> dict[str, GroupStats]:
    """Per-layer mean and spread (std, ddof=0) of every scaling factor per domain / class / correctness.

    Groups with no input are left out.
    """
    labels, names = table.grouping(by)
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
    """The ``k`` scaling factors (by position) that set input ``row`` apart most, per layer.

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
    """How far the scaling factors of rows ``i`` and ``j`` lie apart: per layer and over all layers."""

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
    """Distance between two inputs' scaling factors, per layer and overall.

    ``metric`` is ``"euclidean"`` (the overall value is the distance of the concatenated vectors, i.e. the
    root of the sum of squared per-layer distances) or ``"cosine"`` (1 - cosine similarity).
    ``standardise`` z-scores every factor over the table first, so that layers whose factors vary
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
    """The ``k`` rows whose (concatenated) scaling factors lie closest to row ``row``'s, nearest first."""
    _check_row(table, row)
    m = np.concatenate([_scaled(table, n, standardise) for n in table.layers], axis=1)
    d = np.linalg.norm(m - m[row], axis=1)
    d[row] = np.inf
    return [int(r) for r in np.argsort(d, kind="stable")[: min(k, len(table) - 1)]]


def _check_row(table: ScalingTable, row: int) -> None:
    if not 0 <= int(row) < len(table):
        raise ConfigError(f"Row {row} does not exist; the table has {len(table)} inputs.", "Pick 0..N-1.")


@dataclass
class InputComparison:
    """One input's scaling factors of every layer next to the average input, or next to a second input.

    What the bar chart :func:`metalora.figures.input_scaling` draws, computed here so the figure only draws.

    Attributes
    ----------
    columns : list[str]
        ``"layer[r]"`` for every scaling factor (all layers side by side).
    rows : list[int]
        The table rows compared: ``[row]`` or ``[row, other]``.
    index : list[int]
        Each compared input's position in its data set (to show the image).
    inputs : list[InputFacts]
        What names each compared input (``ScalingTable.facts``), for hover text.
    values : np.ndarray
        ``(len(rows), len(columns))`` the compared inputs' scaling factors.
    average : np.ndarray or None
        ``(len(columns),)`` the mean over every input of the table when one input is shown, else None.
    distance : ScalingDistance or None
        How far the two inputs lie apart when two are compared, else None.
    """

    columns: list[str]
    rows: list[int]
    index: list[int]
    inputs: list[InputFacts]
    values: np.ndarray
    average: np.ndarray | None
    distance: ScalingDistance | None

    def to_dict(self) -> dict:
        return to_jsonable(self.__dict__)


def compare_inputs(
    table: ScalingTable, row: int, other: int | None = None, standardise: bool = False
) -> InputComparison:
    """Row ``row``'s scaling factors next to the average input (``other=None``) or to row ``other``.

    ``standardise`` is passed to :func:`scaling_distance` for the distance of two inputs.
    """
    rows = [row] if other is None else [row, other]
    for r in rows:
        _check_row(table, r)
    m = table.matrix()  # (N, ΣR)
    return InputComparison(
        columns=table.column_names(),
        rows=[int(r) for r in rows],
        index=[int(table.index[r]) for r in rows],
        inputs=[table.facts(r) for r in rows],
        values=m[rows],
        average=m.mean(0) if other is None else None,
        distance=None if other is None else scaling_distance(table, row, other, standardise=standardise),
    )
