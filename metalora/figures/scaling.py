"""Figures of the scaling factors: heatmap, distributions, one input, two inputs, specificity.

The builders only draw: the per-group statistics come from :func:`~metalora.analysis.scaling_stats`, an
input next to the average (or to a second input, with their distance) from
:func:`~metalora.analysis.compare_inputs`. Two drawing choices read the values they draw: the heatmap's
colour scale is centred on the median of its cells, and the boxes / violins are drawn by Plotly from the
values themselves.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import plotly.graph_objects as go

from ..analysis.scaling import ScalingTable
from ..analysis.scaling_summaries import GroupStats, InputComparison
from ..errors import ConfigError
from ..i18n import layer_names
from .base import Figure, finish
from .captions import describe_input, domain_names, label, layer_both, layer_hover, term, term_both
from .palette import DIVERGING, GREY, OKABE_ITO, categorical

__all__ = ["input_scaling", "scaling_distributions", "scaling_heatmap", "scaling_specificity"]


def scaling_heatmap(table: ScalingTable, layer: str, lang: str = "en", max_rows: int = 2000) -> Figure:
    """Inputs × scaling factors of one layer, inputs sorted by domain (then class).

    ``customdata`` of every cell is the input's index in its data set. Over ``max_rows`` inputs, an
    evenly spaced subset is drawn (the order is kept). The layer is named for people (among the table's
    layers, :func:`metalora.i18n.layer_names`); ``meta["layer"]`` is its code name.
    """
    s = table.check_layer(layer)  # (N, R)
    layer_shown = layer_both(layer, table.layers)
    order = np.lexsort((table.index, table.y, table.domain))
    if len(order) > max_rows:
        order = order[np.linspace(0, len(order) - 1, max_rows).astype(int)]
    z = s[order]  # (n, R)
    r = z.shape[1]
    names = [describe_input(table.facts(i), lang) for i in order]
    hover = [
        [
            f"{names[k]}<br>{label('hover.scaling_factor', lang, n=c, value=f'{z[k, c]:.3f}')}"
            for c in range(r)
        ]
        for k in range(len(order))
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in range(r)],
            y=list(range(len(order))),
            customdata=np.repeat(table.index[order][:, None], r, axis=1),
            hovertext=hover,
            hoverinfo="text",
            colorscale=DIVERGING,
            zmid=float(np.median(z)) if z.size else 0.0,
            # right of the domain names (annotations at x = 1), its title along the bar
            colorbar={
                "title": {"text": label("colorbar.scaling", lang), "side": "right"},
                "x": 1.12,
                "xanchor": "left",
            },
            name=layer_shown[lang],
        )
    )
    dom = table.domain[order]
    shown = domain_names(table.domain_names, lang)
    for k in np.flatnonzero(np.diff(dom)) + 0.5:  # domain boundaries
        fig.add_hline(y=float(k), line={"color": "black", "width": 1})
    for d in np.unique(dom):
        rows = np.flatnonzero(dom == d)
        fig.add_annotation(
            x=1.0,
            xref="paper",
            xanchor="left",
            y=float(rows.mean()),  # the middle of the domain's rows: where its name goes
            text=shown[d],
            showarrow=False,
        )
    f = finish(
        fig,
        "scaling_heatmap",
        lang,
        "axis.component",
        "axis.inputs_by_domain",
        meta={"layer": layer},
        height=520,
        layer=layer_shown,
        rank=r,
    )
    f.fig.update_yaxes(autorange="reversed", showticklabels=False)
    f.fig.update_layout(margin={"r": 170})
    return f


def scaling_distributions(
    table: ScalingTable, layer: str, by: str = "domain", kind: str = "box", lang: str = "en"
) -> Figure:
    """Box (or violin) plots of every scaling factor of one layer, one colour per domain / class."""
    if kind not in ("box", "violin"):
        raise ConfigError(f"kind={kind!r} is not supported.", "Use 'box' or 'violin'.")
    s = table.check_layer(layer)
    groups = table.group_rows(by)
    if by == "correct":  # the grouping's names are keys: "wrong", "correct"
        groups = {term(f"answer.{name}", lang): rows for name, rows in groups.items()}
    elif by == "domain":
        groups = dict(zip(domain_names(groups, lang), groups.values(), strict=True))
    fig = go.Figure()
    for colour, (name, rows) in zip(categorical(len(groups)), groups.items(), strict=True):
        common = {
            "x": np.tile(np.arange(s.shape[1]), len(rows)).astype(str),
            "y": s[rows].reshape(-1),
            "name": name,
            "legendgroup": name,
            "hovertext": np.repeat([describe_input(table.facts(i), lang) for i in rows], s.shape[1]),
            "customdata": np.repeat(table.index[rows], s.shape[1]),
        }
        if kind == "violin":
            fig.add_trace(go.Violin(**common, line_color=colour, points=False, scalemode="width"))
        else:
            fig.add_trace(go.Box(**common, marker_color=colour, boxpoints=False))
    fig.update_layout(**{f"{kind}mode": "group"})
    return finish(
        fig,
        "scaling_distributions",
        lang,
        "axis.component",
        "axis.scaling_value",
        meta={"by": by, "layer": layer},
        layer=layer_both(layer, table.layers),
        by=term_both(by),
    )


_COLUMN = re.compile(r"(.+)\[(\d+)\]")


def _columns(columns: list[str], lang: str) -> tuple[list[str], list]:
    """The tick texts of :attr:`InputComparison.columns` (``"stages.1.0.conv2[3]"`` -> ``"Stage 2 · block 1 ·
    conv 2 [3]"``) and, for the hover texts, a function of a column and its value."""
    split = [(m[1], m[2]) if (m := _COLUMN.fullmatch(c)) else (c, "") for c in columns]
    names = layer_names([n for n, _ in split], lang)
    ticks = [f"{names[n]} [{r}]" if r else names[n] for n, r in split]
    hovers = [
        functools.partial(label, "hover.layer_factor", lang, layer=layer_hover(n, lang, names[n]), n=r)
        for n, r in split
    ]
    return ticks, hovers


def _input_bar(comparison: InputComparison, k: int, name: str, colour: str, lang: str) -> go.Bar:
    """The bars of the ``k``-th compared input (hover: its description; customdata: its data-set index)."""
    x, values = comparison.columns, comparison.values[k]
    described = describe_input(comparison.inputs[k], lang)
    _, hovers = _columns(x, lang)
    return go.Bar(
        x=x,
        y=values,
        name=name,
        marker_color=colour,
        hovertext=[f"{described}<br>{h(value=f'{v:.3f}')}" for h, v in zip(hovers, values, strict=True)],
        hoverinfo="text",
        customdata=np.full(len(x), comparison.index[k]),
    )


def input_scaling(comparison: InputComparison, lang: str = "en") -> Figure:
    """One input's scaling factors across all layers next to the average input; or two inputs compared.

    ``comparison`` is :func:`metalora.analysis.compare_inputs` (or ``RunAnalysis.input_comparison``).
    """
    x = comparison.columns
    ticks, hovers = _columns(x, lang)
    names = [term_both("input", n=i) for i in comparison.index]
    fig = go.Figure()
    fig.add_trace(_input_bar(comparison, 0, names[0][lang], OKABE_ITO[3], lang))
    fields: dict = {"input": names[0]}
    if comparison.average is not None:
        average = label("legend.average", lang)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=comparison.average,
                mode="markers",
                name=average,
                marker={"color": "black", "symbol": "line-ew-open", "size": 14, "line": {"width": 2}},
                hovertext=[
                    f"{average}<br>{h(value=f'{v:.3f}')}"
                    for h, v in zip(hovers, comparison.average, strict=True)
                ],
                hoverinfo="text",
            )
        )
        key = "input_scaling"
    else:
        fig.add_trace(_input_bar(comparison, 1, names[1][lang], OKABE_ITO[0], lang))
        fig.update_layout(barmode="group")
        key = "input_scaling_compare"
        fields |= {"other": names[1], "distance": f"{comparison.distance.overall:.3g}"}
    rows = comparison.rows
    meta = {"row": rows[0], "other": rows[1] if len(rows) > 1 else None}
    f = finish(fig, key, lang, "axis.layer_component", "axis.scaling_value", meta=meta, **fields)
    # one tick per layer, at its first scaling factor (each bar's hover names its layer and factor): 50 long
    # rotated labels were unreadable and took the browser longer to lay out than the bars
    first = [k for k, c in enumerate(x) if k == 0 or _layer_of(c) != _layer_of(x[k - 1])]
    f.fig.update_xaxes(
        tickangle=-45,
        tickmode="array",
        tickvals=[x[k] for k in first],
        ticktext=[ticks[k].rsplit(" [", 1)[0] for k in first],
    )
    return f


def _layer_of(column: str) -> str:
    """The layer of a column of :attr:`InputComparison.columns` (``"stages.1.0.conv2[3]"`` -> its layer)."""
    m = _COLUMN.fullmatch(column)
    return m[1] if m else column


def scaling_specificity(stats: dict[str, GroupStats], lang: str = "en") -> Figure:
    """Bar per layer: the share of its scaling factors' variation explained by the grouping (η², in %).

    The bars' categories are the layers' code names; their tick texts the names for people
    (:func:`metalora.i18n.layer_names`), the hover texts both.
    """
    layers = list(stats)
    names = layer_names(layers, lang)
    by = next(iter(stats.values())).by if stats else "domain"
    values = [100.0 * stats[n].eta_squared_total for n in layers]
    by_term = term_both(by)
    fig = go.Figure(
        go.Bar(
            x=layers,
            y=values,
            marker_color=[OKABE_ITO[2] if v >= 50 else GREY for v in values],
            hovertext=[
                label(
                    "hover.specificity",
                    lang,
                    layer=layer_hover(n, lang, names[n]),
                    value=f"{v:.1f}",
                    by=by_term,
                )
                for n, v in zip(layers, values, strict=True)
            ],
            hoverinfo="text",
            name=by_term[lang],
        )
    )
    f = finish(fig, "scaling_specificity", lang, "axis.layer", "axis.explained", meta={"by": by}, by=by_term)
    f.fig.update_yaxes(range=[0, 100])
    f.fig.update_xaxes(tickmode="array", tickvals=layers, ticktext=[names[n] for n in layers])
    return f
