"""Figures of accuracy and cost: accuracy-versus-cost scatter with the Pareto front, per-domain bars, bars by
training length.

They take *run rows* (see :mod:`metalora.analysis.runs`; accuracies as fractions in [0, 1]) and only draw:

* :func:`accuracy_vs_cost` draws raw runs (one point each) or rows aggregated by
  :func:`metalora.stats.aggregate_runs` (``accuracy_mean``, ``accuracy_std``, ``n``: error bars show the
  standard deviation over runs). The Pareto line joins the drawn points that
  :func:`metalora.analysis.runs.pareto_mask` keeps.
* :func:`domain_accuracy` draws :func:`metalora.analysis.summarise_domains` rows and
  :func:`accuracy_by_epochs` draws :func:`metalora.analysis.summarise_epochs` rows; raw runs are refused
  with a :class:`~metalora.errors.DataError` that names the summary to pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.runs import pareto_mask
from ..errors import ConfigError, DataError
from ..methods import method_label
from ..stats import flatten_row
from .base import Figure, finish, style
from .captions import caption, domain_names, label, term_both
from .palette import categorical, symbols

__all__ = ["COST_SCALE", "accuracy_by_epochs", "accuracy_vs_cost", "domain_accuracy"]

#: Factor from the stored unit to the axis unit (FLOPs -> GFLOPs, s -> ms, bytes -> MiB / KiB).
COST_SCALE = {
    "flops": 1e-9,
    "flops_extra": 1e-9,
    "trainable": 1.0,
    "latency_s": 1e3,
    "peak_memory_bytes": 1.0 / 2**20,
    "train_time_s": 1.0,
    "adapter_bytes": 1.0 / 1024,
}


def _name(row: dict, key: str, lang: str = "en") -> str:
    v = row.get(key)
    name = method_label(v, lang) if isinstance(v, str) else str(v)
    if key != "rank" and row.get("rank") is not None:
        name += label("sep", lang) + label("hover.rank", lang, rank=row["rank"])
    return name


def _field(rows: Sequence[dict], key: str) -> tuple[str, str | None]:
    """The key holding the value (``key`` or ``key_mean``) and its spread key (``key_std``) if any."""
    if any(f"{key}_mean" in r for r in rows):
        return f"{key}_mean", f"{key}_std"
    return key, None


def _num(row: dict, key: str | None) -> float:
    try:
        return float(row.get(key)) if key else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def accuracy_vs_cost(
    rows: Sequence[dict],
    cost: str = "flops",
    accuracy: str = "accuracy",
    label_key: str = "method",
    lang: str = "en",
) -> Figure:
    """Accuracy (%) against one cost, a trace per method, error bars for aggregated rows, Pareto line.

    ``cost`` is a key of :data:`COST_SCALE` (each has its axis title and its name in the string tables); any
    other is a :class:`~metalora.errors.ConfigError`.
    """
    if cost not in COST_SCALE:  # every cost has its words (axis title, term) in the string tables
        raise ConfigError(
            f"cost={cost!r} is not a cost this figure draws.", f"Use one of {', '.join(COST_SCALE)}."
        )
    rows = [flatten_row(dict(r)) for r in rows]
    if not rows:
        raise DataError("There are no runs to plot.", "Train and evaluate at least one model first.")
    acc_key, acc_sd = _field(rows, accuracy)
    cost_key, cost_sd = _field(rows, cost)
    scale = COST_SCALE[cost]
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(str(r.get(label_key)), []).append(i)
    colours, marks = categorical(len(groups)), symbols(len(groups))
    cost_term = term_both(f"cost.{cost}")
    sep = label("sep", lang)
    fig = go.Figure()
    for colour, mark, (_, idx) in zip(colours, marks, groups.items(), strict=True):
        sub = [rows[i] for i in idx]
        x = [scale * _num(r, cost_key) for r in sub]
        y = [100 * _num(r, acc_key) for r in sub]
        hover = []
        for r, xv, yv in zip(sub, x, y, strict=True):
            extra = (
                sep + label("hover.runs", lang, n=r["n"])
                if "n" in r
                else sep + label("hover.repeat", lang, repeat=r["seed"])
                if "seed" in r
                else ""
            )
            numbers = label(
                "hover.accuracy_cost", lang, accuracy=f"{yv:.2f}", cost=cost_term, value=f"{xv:.4g}"
            )
            hover.append(f"{_name(r, label_key, lang)}{extra}<br>{numbers}")
        trace = {
            "x": x,
            "y": y,
            "mode": "markers",
            "name": method_label(str(sub[0].get(label_key)), lang),
            "marker": {"color": colour, "symbol": mark, "size": 11, "line": {"color": "black", "width": 0.5}},
            "hovertext": hover,
            "hoverinfo": "text",
        }
        if acc_sd:
            trace["error_y"] = {
                "type": "data",
                "array": [100 * _num(r, acc_sd) for r in sub],
                "visible": True,
            }
        if cost_sd:
            trace["error_x"] = {
                "type": "data",
                "array": [scale * _num(r, cost_sd) for r in sub],
                "visible": True,
            }
        fig.add_trace(go.Scatter(**trace))
    mask = pareto_mask(rows, maximise=acc_key, minimise=cost_key)
    front = sorted(
        (scale * _num(r, cost_key), 100 * _num(r, acc_key), _name(r, label_key, lang))
        for r, m in zip(rows, mask, strict=True)
        if m
    )
    fig.add_trace(
        go.Scatter(
            x=[f[0] for f in front],
            y=[f[1] for f in front],
            mode="lines",
            line={"color": "black", "dash": "dot", "shape": "hv"},
            name=label("legend.pareto", lang),
            hovertext=[label("hover.pareto", lang, name=f[2]) for f in front],
            hoverinfo="text",
        )
    )
    x_title = label(f"axis.{cost}", lang)
    style(fig, label("title.accuracy_vs_cost", lang, cost=cost_term), x_title, label("axis.accuracy", lang))
    xs = np.array([scale * _num(r, cost_key) for r in rows])
    xs = xs[np.isfinite(xs) & (xs > 0)]
    if len(xs) and xs.max() / xs.min() > 100:
        fig.update_xaxes(type="log")
    return Figure(
        fig, caption("accuracy_vs_cost", cost=cost_term), "accuracy_vs_cost", {"cost": cost, "front": front}
    )


def _accuracy_bars(
    x, cells: Sequence[tuple[dict | None, str]], name: str, colour: str, hover: Sequence[str], lang: str
) -> go.Bar:
    """One trace of grouped accuracy bars (%), whiskers = std over runs.

    Bar i draws ``<metric>_mean`` / ``_std`` / ``_n`` (else ``n``) of ``cells[i] = (aggregated row, metric)``;
    a missing row (None) is no bar, not a zero. ``hover[i]`` heads bar i's hover text.
    """
    means = [100 * _num(r, f"{m}_mean") if r is not None else np.nan for r, m in cells]
    sds = [100 * _num(r, f"{m}_std") if r is not None else np.nan for r, m in cells]
    n = [int(r.get(f"{m}_n", r.get("n", 1)) or 0) if r is not None else 0 for r, m in cells]
    return go.Bar(
        x=x,
        y=means,
        name=name,
        marker_color=colour,
        error_y={"type": "data", "array": [0 if np.isnan(s) else s for s in sds], "visible": True},
        hovertext=[
            label("hover.bar", lang, name=h, value=f"{m:.2f}", runs=label("hover.runs", lang, n=k))
            if np.isnan(s)
            else label(
                "hover.bar_spread",
                lang,
                name=h,
                value=f"{m:.2f}",
                spread=f"{s:.2f}",
                runs=label("hover.runs", lang, n=k),
            )
            for h, m, s, k in zip(hover, means, sds, n, strict=True)
        ],
        hoverinfo="text",
    )


def _summary(rows: Sequence[dict], figure: str, summary: str, needs: str) -> list[dict]:
    """``rows`` flattened, or a DataError when they are empty or hold no ``needs`` column (raw runs)."""
    rows = [flatten_row(dict(r)) for r in rows]
    if not rows:
        raise DataError("There are no runs to plot.", "Train and evaluate at least one model first.")
    if not any(k.endswith(needs) for r in rows for k in r):
        raise DataError(
            f"{figure} draws runs aggregated over their repeats, but these rows hold no '*{needs}' column.",
            f"Pass metalora.analysis.{summary}(rows) instead of the raw run rows.",
        )
    return rows


def domain_accuracy(rows: Sequence[dict], label_key: str = "method", lang: str = "en") -> Figure:
    """Grouped bars: accuracy (%) per domain, one bar per method, whiskers = std over runs.

    ``rows`` are :func:`metalora.analysis.summarise_domains` rows (``per_domain.<d>_mean`` / ``_std``).
    """
    rows = _summary(rows, "domain_accuracy", "summarise_domains", "_mean")
    domains = []
    for r in rows:
        for k in r:
            if k.startswith("per_domain.") and k.endswith("_mean"):
                d = k[len("per_domain.") : -len("_mean")]
                if d not in domains:
                    domains.append(d)
    if not domains:
        raise DataError("The runs carry no per-domain accuracy.", "Evaluate with domain labels (per_domain).")
    shown = domain_names(domains, lang)
    fig = go.Figure()
    for colour, r in zip(categorical(len(rows)), rows, strict=True):
        name = _name(r, label_key, lang)
        cells = [(r, f"per_domain.{d}") for d in domains]
        hover = [f"{name}{label('sep', lang)}{d}" for d in shown]
        fig.add_trace(_accuracy_bars(shown, cells, name, colour, hover, lang))
    fig.update_layout(barmode="group")
    return finish(fig, "domain_accuracy", lang, "axis.domain", "axis.accuracy")


def accuracy_by_epochs(rows: Sequence[dict], label_key: str = "method", lang: str = "en") -> Figure:
    """Grouped bars: accuracy (%) of each method after each training length (``epochs``), whiskers = std over runs.

    ``rows`` are :func:`metalora.analysis.summarise_epochs` rows (one per method and training length, with
    ``accuracy_mean``, ``accuracy_std`` and ``n``); each is one bar.
    """
    agg = _summary(rows, "accuracy_by_epochs", "summarise_epochs", "accuracy_mean")
    if any(r.get("epochs") is None for r in agg):
        raise DataError(
            "Some runs do not say how many epochs they trained.", "Give every run an 'epochs' value."
        )
    methods = list(dict.fromkeys(_name(r, label_key, lang) for r in agg))
    lengths = sorted({int(r["epochs"]) for r in agg})
    fig = go.Figure()
    for colour, epochs in zip(categorical(len(lengths)), lengths, strict=True):
        by_method = {_name(r, label_key, lang): r for r in agg if int(r["epochs"]) == epochs}
        cells = [(by_method.get(m), "accuracy") for m in methods]
        name = label("legend.epochs", lang, epochs=epochs)
        hover = [f"{m}{label('sep', lang)}{name}" for m in methods]
        fig.add_trace(_accuracy_bars(methods, cells, name, colour, hover, lang))
    fig.update_layout(barmode="group")
    return finish(fig, "accuracy_by_epochs", lang, "axis.method", "axis.accuracy")
