"""Figures of the per-input clusters: the 2-D map and the choice of k."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis.clusters import ClusterResult
from ..analysis.scaling import ScalingTable
from ..errors import ConfigError
from .base import Figure, style
from .captions import caption, label, term, term_both
from .palette import OKABE_ITO, categorical, symbols

__all__ = ["cluster_map", "silhouette_vs_k"]


def cluster_map(
    result: ClusterResult, table: ScalingTable, colour_by: str = "cluster", lang: str = "en"
) -> Figure:
    """Scatter of the 2-D map, one trace per cluster / domain / class (colour and symbol).

    Every point's ``customdata`` is ``[index in the data set, row in the table]``, so a dashboard can show
    the selected images; the most typical inputs of each cluster are ringed in black.
    """
    if len(table) != len(result.labels):
        raise ConfigError(
            "The cluster result and the seed table hold different inputs.", "Pass the same table."
        )
    if colour_by == "cluster":
        groups, names = result.labels, [f"{term('cluster', lang)} {c}" for c in range(result.k)]
    elif colour_by == "domain":
        groups, names = table.domain, list(table.domain_names)
    elif colour_by == "class":
        groups, names = table.y, list(table.class_names)
    else:
        raise ConfigError(f"colour_by={colour_by!r} is not supported.", "Use 'cluster', 'domain' or 'class'.")
    present = [g for g in range(len(names)) if np.any(groups == g)]
    colours, marks = categorical(len(present)), symbols(len(present))
    xy = result.coords
    fig = go.Figure()
    for colour, mark, g in zip(colours, marks, present, strict=True):
        rows = np.flatnonzero(groups == g)
        fig.add_trace(
            go.Scattergl(
                x=xy[rows, 0],
                y=xy[rows, 1],
                mode="markers",
                name=str(names[g]),
                marker={"color": colour, "symbol": mark, "size": 6, "opacity": 0.8},
                customdata=np.stack([table.index[rows], rows], axis=1),
                hovertext=[f"{table.describe(i)} · cluster {result.labels[i]}" for i in rows],
                hoverinfo="text",
            )
        )
    typical = np.array([r for rows in result.typical.values() for r in rows], dtype=int)
    if len(typical):
        fig.add_trace(
            go.Scattergl(
                x=xy[typical, 0],
                y=xy[typical, 1],
                mode="markers",
                name=label("legend.typical", lang),
                marker={"color": "rgba(0,0,0,0)", "size": 12, "line": {"color": "black", "width": 1.5}},
                customdata=np.stack([table.index[typical], typical], axis=1),
                hovertext=[f"typical of cluster {result.labels[i]}: {table.describe(i)}" for i in typical],
                hoverinfo="text",
            )
        )
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
    cap = caption("cluster_map", colour_by=by, ari_domain="n/a" if np.isnan(ari) else f"{ari:.2f}")
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
            hovertext=[f"k = {k}: silhouette {s:.3f}" for k, s in zip(ks, scores, strict=True)],
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
            hovertext=[f"chosen k = {result.k}: silhouette {result.silhouette:.3f}"],
            hoverinfo="text",
        )
    )
    style(fig, label("title.silhouette_vs_k", lang), label("axis.k", lang), label("axis.silhouette", lang))
    fig.update_xaxes(dtick=1)
    return Figure(fig, caption("silhouette_vs_k"), "silhouette_vs_k")
