"""Figures of the scaling factors (seeds): heatmap, distributions, one input, two inputs, specificity."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis.scaling import ScalingTable
from ..analysis.scaling_summaries import GroupStats, grouping, scaling_distance
from .base import Figure, style
from .captions import caption, label, term, term_both
from .palette import DIVERGING, GREY, OKABE_ITO, categorical

__all__ = ["input_scaling", "scaling_distributions", "scaling_heatmap", "scaling_specificity"]


def _input_name(table: ScalingTable, row: int) -> dict[str, str]:
    return term_both("input", n=int(table.index[row]))


def scaling_heatmap(table: ScalingTable, layer: str, lang: str = "en", max_rows: int = 2000) -> Figure:
    """Inputs × rank components of one layer, inputs sorted by domain (then class).

    ``customdata`` of every cell is the input's index in its data set. Over ``max_rows`` inputs, an
    evenly spaced subset is drawn (the order is kept).
    """
    s = table.check_layer(layer)  # (N, R)
    order = np.lexsort((table.index, table.y, table.domain))
    if len(order) > max_rows:
        order = order[np.linspace(0, len(order) - 1, max_rows).astype(int)]
    z = s[order]  # (n, R)
    r = z.shape[1]
    names = [table.describe(i) for i in order]
    hover = [[f"{names[k]}<br>component {c}: {z[k, c]:.3f}" for c in range(r)] for k in range(len(order))]
    centre = float(np.median(z)) if z.size else 0.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in range(r)],
            y=list(range(len(order))),
            customdata=np.repeat(table.index[order][:, None], r, axis=1),
            hovertext=hover,
            hoverinfo="text",
            colorscale=DIVERGING,
            zmid=centre,
            colorbar={"title": {"text": label("colorbar.scaling", lang)}},
            name=layer,
        )
    )
    dom = table.domain[order]
    for k in np.flatnonzero(np.diff(dom)) + 0.5:  # domain boundaries
        fig.add_hline(y=float(k), line={"color": "black", "width": 1})
    for d in np.unique(dom):
        rows = np.flatnonzero(dom == d)
        fig.add_annotation(
            x=1.0,
            xref="paper",
            xanchor="left",
            y=float(rows.mean()),
            text=table.domain_names[d],
            showarrow=False,
        )
    style(
        fig,
        label("title.scaling_heatmap", lang, layer=layer),
        label("axis.component", lang),
        label("axis.inputs_by_domain", lang),
        height=520,
    )
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_layout(margin={"r": 110})
    return Figure(fig, caption("scaling_heatmap", layer=layer, rank=r), "scaling_heatmap", {"layer": layer})


def scaling_distributions(
    table: ScalingTable, layer: str, by: str = "domain", kind: str = "box", lang: str = "en"
) -> Figure:
    """Box (or violin) plots of every component of one layer, one colour per domain / class."""
    s = table.check_layer(layer)
    labels, names = grouping(table, by)
    present = [g for g in range(len(names)) if np.any(labels == g)]
    colours = categorical(len(present))
    fig = go.Figure()
    for colour, g in zip(colours, present, strict=True):
        rows = np.flatnonzero(labels == g)
        x = np.tile(np.arange(s.shape[1]), len(rows)).astype(str)
        y = s[rows].reshape(-1)
        text = np.repeat([table.describe(i) for i in rows], s.shape[1])
        common = {"x": x, "y": y, "name": str(names[g]), "legendgroup": str(names[g]), "hovertext": text}
        common["customdata"] = np.repeat(table.index[rows], s.shape[1])
        if kind == "violin":
            fig.add_trace(go.Violin(**common, line_color=colour, points=False, scalemode="width"))
        elif kind == "box":
            fig.add_trace(go.Box(**common, marker_color=colour, boxpoints=False))
        else:
            from ..errors import ConfigError

            raise ConfigError(f"kind={kind!r} is not supported.", "Use 'box' or 'violin'.")
    mode = "violinmode" if kind == "violin" else "boxmode"
    fig.update_layout(**{mode: "group"})
    by_term = term_both(by)
    style(
        fig,
        label("title.scaling_distributions", lang, layer=layer, by=by_term),
        label("axis.component", lang),
        label("axis.seed_value", lang),
    )
    return Figure(
        fig, caption("scaling_distributions", layer=layer, by=by_term), "scaling_distributions", {"by": by}
    )


def input_scaling(table: ScalingTable, row: int, other: int | None = None, lang: str = "en") -> Figure:
    """One input's seeds across all layers next to the average input; or two inputs compared."""
    x = table.column_names()
    a = table.matrix()  # (N, ΣR)
    first = _input_name(table, row)
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=x,
            y=a[row],
            name=first[lang],
            marker_color=OKABE_ITO[3],
            hovertext=[f"{table.describe(row)}<br>{c}: {v:.3f}" for c, v in zip(x, a[row], strict=True)],
            hoverinfo="text",
            customdata=np.full(len(x), table.index[row]),
        )
    )
    if other is None:
        mean = a.mean(0)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=mean,
                mode="markers",
                name=label("legend.average", lang),
                marker={"color": "black", "symbol": "line-ew-open", "size": 14, "line": {"width": 2}},
                hovertext=[
                    f"{label('legend.average', lang)}<br>{c}: {v:.3f}" for c, v in zip(x, mean, strict=True)
                ],
                hoverinfo="text",
            )
        )
        cap = caption("input_scaling", input=first)
        title = label("title.input_scaling", lang, input=first)
        key = "input_scaling"
    else:
        second = _input_name(table, other)
        fig.add_trace(
            go.Bar(
                x=x,
                y=a[other],
                name=second[lang],
                marker_color=OKABE_ITO[0],
                hovertext=[
                    f"{table.describe(other)}<br>{c}: {v:.3f}" for c, v in zip(x, a[other], strict=True)
                ],
                hoverinfo="text",
                customdata=np.full(len(x), table.index[other]),
            )
        )
        fig.update_layout(barmode="group")
        dist = scaling_distance(table, row, other)
        cap = caption("input_scaling_compare", input=first, other=second, distance=f"{dist.overall:.3g}")
        title = label("title.input_scaling_compare", lang, input=first, other=second)
        key = "input_scaling_compare"
    style(fig, title, label("axis.layer_component", lang), label("axis.seed_value", lang))
    fig.update_xaxes(tickangle=-60, tickfont={"size": 9})
    return Figure(fig, cap, key, {"row": row, "other": other})


def scaling_specificity(stats: dict[str, GroupStats], lang: str = "en") -> Figure:
    """Bar per layer: the share of its seeds' variation explained by the grouping (η², in %)."""
    layers = list(stats)
    by = next(iter(stats.values())).by if stats else "domain"
    values = [100.0 * stats[n].eta_squared_total for n in layers]
    by_term = term_both(by)
    fig = go.Figure(
        go.Bar(
            x=layers,
            y=values,
            marker_color=[OKABE_ITO[2] if v >= 50 else GREY for v in values],
            hovertext=[f"{n}: {v:.1f}% ({term(by, 'en')})" for n, v in zip(layers, values, strict=True)],
            hoverinfo="text",
            name=by_term[lang],
        )
    )
    style(
        fig,
        label("title.scaling_specificity", lang, by=by_term),
        label("axis.layer", lang),
        label("axis.explained", lang, by=by_term),
    )
    fig.update_yaxes(range=[0, 100])
    return Figure(fig, caption("scaling_specificity", by=by_term), "scaling_specificity", {"by": by})
