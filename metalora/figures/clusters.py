"""Figures of the per-input clusters: the 2-D map and the choice of k."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis.clusters import ClusterResult
from ..analysis.scaling import ScalingTable
from ..errors import ConfigError
from .base import Figure, finish, style
from .captions import caption, describe_input, domain_names, label, term, term_both
from .palette import OKABE_ITO, categorical, symbols

__all__ = ["cluster_map", "silhouette_vs_k"]


WEBGL_FROM = 2000
"""Maps of this many points or more are drawn with WebGL (``Scattergl``); smaller ones as SVG, which a
browser without a GPU draws sooner: it need not set up a software WebGL context (headless Chromium on 2
cores, the dashboard's 270-point map: the clusters page's first visit took 1.56 s with WebGL, 0.54 s with
SVG; ``benchmarks/bench_app.py``)."""


def _points(
    xy: np.ndarray, rows: np.ndarray, table: ScalingTable, name: str, marker: dict, hover: list[str]
) -> go.Scatter | go.Scattergl:
    """Markers of ``rows`` on the map; ``customdata`` is ``[index in the data set, row in the table]``."""
    kind = go.Scattergl if len(table) >= WEBGL_FROM else go.Scatter
    return kind(
        x=xy[rows, 0],
        y=xy[rows, 1],
        mode="markers",
        name=name,
        marker=marker,
        customdata=np.stack([table.index[rows], rows], axis=1),
        hovertext=hover,
        hoverinfo="text",
    )


def cluster_map(
    result: ClusterResult, table: ScalingTable, colour_by: str = "cluster", lang: str = "en"
) -> Figure:
    """Scatter of the 2-D map, one trace per cluster / domain / class (colour and symbol).

    Every point's ``customdata`` is ``[index in the data set, row in the table]``, so a dashboard can show
    the selected images; the most typical inputs of each cluster are ringed in black.
    """
    if len(table) != len(result.labels):
        raise ConfigError(
            "The cluster result and the scaling table hold different inputs.", "Pass the same table."
        )
    if colour_by == "cluster":
        groups = {
            label("hover.cluster", lang, n=c): np.flatnonzero(result.labels == c) for c in range(result.k)
        }
        groups = {name: rows for name, rows in groups.items() if len(rows)}
    elif colour_by in ("domain", "class"):
        groups = table.group_rows(colour_by)
        if colour_by == "domain":
            groups = dict(zip(domain_names(groups, lang), groups.values(), strict=True))
    else:
        raise ConfigError(f"colour_by={colour_by!r} is not supported.", "Use 'cluster', 'domain' or 'class'.")
    xy = result.coords
    names = [describe_input(table.facts(i), lang) for i in range(len(table))]
    sep = label("sep", lang)
    fig = go.Figure()
    looks = zip(categorical(len(groups)), symbols(len(groups)), groups.items(), strict=True)
    for colour, mark, (name, rows) in looks:
        marker = {"color": colour, "symbol": mark, "size": 6, "opacity": 0.8}
        hover = [f"{names[i]}{sep}{label('hover.cluster', lang, n=result.labels[i])}" for i in rows]
        fig.add_trace(_points(xy, rows, table, name, marker, hover))
    typical = np.array([r for rows in result.typical.values() for r in rows], dtype=int)
    if len(typical):
        marker = {"color": "rgba(0,0,0,0)", "size": 12, "line": {"color": "black", "width": 1.5}}
        hover = [label("hover.typical", lang, n=result.labels[i], input=names[i]) for i in typical]
        fig.add_trace(_points(xy, typical, table, label("legend.typical", lang), marker, hover))
    if result.embedding == "pca" and result.explained_variance is not None:
        ev = result.explained_variance
        xt = label("axis.pc", lang, n=1, var=f"{100 * ev[0]:.0f}")
        yt = label("axis.pc", lang, n=2, var=f"{100 * ev[1]:.0f}")
    else:
        xt, yt = label("axis.tsne", lang, n=1), label("axis.tsne", lang, n=2)
    by = term_both(colour_by)
    style(
        fig,
        label("title.cluster_map", lang, embedding=term(result.embedding, lang), colour_by=by),
        xt,
        yt,
        height=560,
    )
    ari = result.ari.get("domain", float("nan"))
    cap = caption("cluster_map", colour_by=by, ari_domain="–" if np.isnan(ari) else f"{ari:.2f}")
    fig.update_layout(dragmode="lasso")  # dragging draws a loop around dots (selects them), never pans
    return Figure(fig, cap, "cluster_map", {"colour_by": colour_by})


def silhouette_vs_k(result: ClusterResult, lang: str = "en") -> Figure:
    """Silhouette score of every k tried, the chosen k highlighted."""
    ks = sorted(result.silhouette_by_k) or [result.k]
    scores = [result.silhouette_by_k.get(k, result.silhouette) for k in ks]
    fig = go.Figure(
        go.Scatter(
            x=ks,
            y=scores,
            mode="lines+markers",
            name=label("axis.silhouette", lang),
            line={"color": OKABE_ITO[3]},
            hovertext=[
                label("hover.silhouette", lang, k=k, score=f"{s:.3f}")
                for k, s in zip(ks, scores, strict=True)
            ],
            hoverinfo="text",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[result.k],
            y=[result.silhouette],
            mode="markers",
            name=label("legend.chosen", lang),
            marker={"symbol": "star", "size": 16, "color": OKABE_ITO[4]},
            hovertext=[label("hover.chosen_k", lang, k=result.k, score=f"{result.silhouette:.3f}")],
            hoverinfo="text",
        )
    )
    f = finish(fig, "silhouette_vs_k", lang, "axis.k", "axis.silhouette")
    f.fig.update_xaxes(dtick=1)
    return f
