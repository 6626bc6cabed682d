"""Figures of the tensor-rank analyses: error vs rank, spectra, scaling-factor energy, effective ranks.

The effective rank is drawn as honestly as :class:`~metalora.analysis.ranks.RankSweep` reports it: a
filled star (solid bar) where a rank keeps the update within the tolerance, an open star (hatched bar)
where none does and the rank is only the bend of the curve, with a caption that says so and the error
that is still lost there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.ranks import RankSweep
from ..analysis.spectra import ComponentEnergy, Spectrum
from ..i18n import layer_names
from .base import Figure, finish
from .captions import label, layer_both, layer_hover, mode_name, term
from .palette import GREY, METHOD_COLOURS, OKABE_ITO, categorical, with_alpha

__all__ = ["component_energy_figure", "effective_ranks", "error_vs_rank", "spectra_figure"]


def _percent(v: float) -> str:
    return f"{100 * v:.3g} %"


#: How a caller names the layer of a one-layer figure: a string (the same in every language) or one per
#: language; None: the name for people from the layer's code name (:func:`metalora.i18n.layer_name`).
LayerName = str | Mapping[str, str] | None


def _shown(code: str, layer: LayerName) -> str | Mapping[str, str]:
    """The name of the layer ``code`` that a one-layer figure shows (see :data:`LayerName`)."""
    return layer_both(code) if layer is None else layer


def _star(sweep: RankSweep, m: str, lang: str, colour: str, shown: LayerName = None) -> go.Scatter | None:
    """The star at ``m``'s effective rank: filled within the tolerance, open (a bend) otherwise."""
    eff = sweep.effective_rank.get(m)
    if not eff or eff not in sweep.ranks:
        return None
    within = sweep.within_tol(m)
    error = sweep.effective_error.get(m, float("nan"))
    rule = term("rule.within", lang)
    if not within:
        rule = label("hover.outside", lang, rule=term(f"rule.{sweep.rule[m]}", lang))
    hover = label(
        "hover.effective",
        lang,
        layer=layer_hover(sweep.name, lang, shown),
        method=term(m, lang),
        rank=eff,
        error=_percent(error),
        rule=rule,
    )
    return go.Scatter(
        x=[eff],
        y=[100 * error],
        mode="markers",
        name=label(
            "legend.star",
            lang,
            name=label("legend.effective" if within else "legend.effective_knee", lang),
            method=term(m, lang),
        ),
        marker={
            "symbol": "star" if within else "star-open",
            "size": 16,
            "color": colour,
            "line": {"color": "black" if within else colour, "width": 1 if within else 2},
        },
        hovertext=[hover],
        hoverinfo="text",
    )


def error_vs_rank(sweep: RankSweep, lang: str = "en", layer: LayerName = None) -> Figure:
    """Relative error (%) against rank, one line per decomposition, a star at each effective rank.

    The caption is ``"error_vs_rank"`` when every star keeps the update within the tolerance, else
    ``"error_vs_rank_knee"`` (which names the largest error still lost at a star); ``layer`` is the name
    the caption, title and hover texts show (a string, or ``{"en": ..., "ja": ...}``; default the name for
    people of ``sweep.name``); ``meta["layer"]`` is the code name.
    """
    shown = _shown(sweep.name, layer)
    fig = go.Figure()
    for m, errs in sweep.errors.items():
        colour = METHOD_COLOURS.get(m, GREY)
        hover = [
            label(
                "hover.rank_error",
                lang,
                layer=layer_hover(sweep.name, lang, shown),
                method=term(m, lang),
                rank=r,
                error=f"{100 * e:.2f}",
                used=u,
            )
            for r, e, u in zip(sweep.ranks, errs, sweep.used_ranks[m], strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=sweep.ranks,
                y=100 * np.asarray(errs),
                mode="lines+markers",
                name=term(m, lang),
                line={"color": colour},
                hovertext=hover,
                hoverinfo="text",
            )
        )
        star = _star(sweep, m, lang, colour, shown)
        if star is not None:
            fig.add_trace(star)
    tol = 100 * sweep.tol
    fig.add_trace(
        go.Scatter(
            x=[min(sweep.ranks), max(sweep.ranks)],
            y=[tol, tol],
            mode="lines",
            name=label("legend.tolerance", lang, tol=f"{tol:g}"),
            line={"color": "black", "dash": "dash", "width": 1},
            hoverinfo="skip",
        )
    )
    outside = [sweep.effective_error[m] for m in sweep.errors if m in sweep.rule and not sweep.within_tol(m)]
    outside = [e for e in outside if np.isfinite(e)]
    fields = {"layer": shown, "tol": f"{tol:g} %"}
    key = "error_vs_rank"
    if outside:
        key, fields["error"] = "error_vs_rank_knee", _percent(max(outside))
    f = finish(
        fig,
        key,
        lang,
        "axis.rank",
        "axis.rel_error",
        title_key="error_vs_rank",
        meta={"layer": sweep.name},
        **fields,
    )
    f.fig.update_xaxes(dtick=1)
    f.fig.update_yaxes(rangemode="tozero")
    return f


def spectra_figure(spectra: Sequence[Spectrum], lang: str = "en", layer: LayerName = None) -> Figure:
    """Normalised singular values (log scale) of every unfolding of every learned factor of a layer.

    ``layer`` is the name the title, caption and hover texts show (see :func:`error_vs_rank`).
    """
    spectra = list(spectra)
    code = spectra[0].layer if spectra else (layer if isinstance(layer, str) else "")
    shown = _shown(code, layer)
    colours = categorical(len(spectra))
    fig = go.Figure()
    for colour, sp in zip(colours, spectra, strict=True):
        vals = sp.normalised
        mode = mode_name(sp.mode, lang)
        trace_name = f"{sp.factor}{label('sep', lang)}{mode}"
        fig.add_trace(
            go.Scatter(
                x=np.arange(1, len(vals) + 1),
                y=np.maximum(vals, 1e-12),
                mode="lines+markers",
                name=trace_name,
                line={"color": colour},
                hovertext=[
                    label(
                        "hover.spectrum",
                        lang,
                        layer=layer_hover(sp.layer, lang, shown if sp.layer == code else None),
                        factor=sp.factor,
                        mode=mode,
                        k=k + 1,
                        value=f"{v:.3g}",
                    )
                    for k, v in enumerate(vals)
                ],
                hoverinfo="text",
            )
        )
    f = finish(fig, "spectra", lang, "axis.sv_index", "axis.sv_value", meta={"layer": code}, layer=shown)
    f.fig.update_yaxes(type="log")
    f.fig.update_xaxes(dtick=1)
    return f


def component_energy_figure(energy: ComponentEnergy, lang: str = "en", layer: LayerName = None) -> Figure:
    """Per scaling factor: energy share (dark) and share of the input-dependent part (light), in %.

    ``layer`` is the name the caption, title and hover texts show (see :func:`error_vs_rank`).
    """
    shown = _shown(energy.layer, layer)
    r = np.arange(len(energy.share))
    colour = OKABE_ITO[3]

    def bars(share: np.ndarray, legend: str, colours, hover_key) -> go.Bar:
        hover = [
            label(
                hover_key(k), lang, layer=layer_hover(energy.layer, lang, shown), n=k, value=f"{100 * v:.1f}"
            )
            for k, v in zip(r, share, strict=True)
        ]
        return go.Bar(
            x=r,
            y=100 * share,
            name=label(legend, lang),
            marker_color=colours,
            hovertext=hover,
            hoverinfo="text",
        )

    fig = go.Figure()
    fig.add_trace(
        bars(
            energy.share,
            "legend.energy",
            [colour if a else GREY for a in energy.alive],
            lambda k: "hover.energy" if energy.alive[k] else "hover.energy_unused",
        )
    )
    fig.add_trace(
        bars(
            energy.variation_share,
            "legend.variation",
            with_alpha(colour, 0.35),
            lambda k: "hover.variation",
        )
    )
    fig.update_layout(barmode="group")
    f = finish(
        fig,
        "component_energy",
        lang,
        "axis.component",
        "axis.share",
        meta={"layer": energy.layer},
        layer=shown,
    )
    f.fig.update_xaxes(dtick=1)
    return f


def effective_ranks(
    sweeps: dict[str, RankSweep],
    given: dict[str, int] | None = None,
    lang: str = "en",
    all_layers: Sequence[str] | None = None,
) -> Figure:
    """Grouped bars: effective rank of each layer's update per decomposition, with the rank given.

    A bar whose rank is not within the tolerance (the bend of the curve) is hatched. The bars' categories
    are the layers' code names, their tick texts the names for people (:func:`metalora.i18n.layer_names`,
    among ``all_layers``, every layer of the model, when given, so a layer is named as in the other views;
    else among those of ``sweeps``), the hover texts both.
    """
    layers = list(sweeps)
    names = layer_names([*(all_layers or ()), *layers], lang)
    methods = []
    for s in sweeps.values():
        methods += [m for m in s.errors if m not in methods]
    fig = go.Figure()
    for m in methods:
        vals = [sweeps[n].effective_rank.get(m) for n in layers]
        within = [sweeps[n].within_tol(m) for n in layers]
        fig.add_trace(
            go.Bar(
                x=layers,
                y=[np.nan if v is None else v for v in vals],
                name=term(m, lang),
                marker={
                    "color": METHOD_COLOURS.get(m, GREY),
                    "pattern": {"shape": ["" if w else "/" for w in within]},
                },
                hovertext=[
                    label(
                        "hover.effective",
                        lang,
                        layer=layer_hover(n, lang, names[n]),
                        method=term(m, lang),
                        rank=v,
                        error=_percent(sweeps[n].effective_error.get(m, float("nan"))),
                        rule=term(f"rule.{sweeps[n].rule.get(m, 'none')}", lang),
                    )
                    for n, v in zip(layers, vals, strict=True)
                ],
                hoverinfo="text",
            )
        )
    if given:
        fig.add_trace(
            go.Scatter(
                x=layers,
                y=[given.get(n) for n in layers],
                mode="lines+markers",
                name=label("legend.given_rank", lang),
                line={"color": "black", "dash": "dash", "width": 1},
                marker={"symbol": "line-ew-open", "size": 14},
                hovertext=[
                    label("hover.given_rank", lang, layer=layer_hover(n, lang, names[n]), rank=given.get(n))
                    for n in layers
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(barmode="group")
    f = finish(fig, "effective_ranks", lang, "axis.layer", "axis.effective_rank")
    f.fig.update_xaxes(tickangle=-30, tickmode="array", tickvals=layers, ticktext=[names[n] for n in layers])
    return f
