"""Figures of the tensor-rank analyses: error vs rank, spectra, component energy, effective ranks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.ranks import RankSweep
from ..analysis.spectra import ComponentEnergy, Spectrum
from .base import Figure, style
from .captions import caption, label, term
from .palette import GREY, METHOD_COLOURS, OKABE_ITO, categorical, with_alpha

__all__ = ["component_energy_figure", "effective_ranks", "error_vs_rank", "spectra_figure"]


def error_vs_rank(sweep: RankSweep, lang: str = "en") -> Figure:
    """Relative error (%) against rank, one line per decomposition, a star at each effective rank."""
    fig = go.Figure()
    for m, errs in sweep.errors.items():
        name = term(m, lang)
        colour = METHOD_COLOURS.get(m, GREY)
        hover = [
            f"{sweep.name} · {term(m, 'en')} · rank {r}: {100 * e:.2f}% (used {u})"
            for r, e, u in zip(sweep.ranks, errs, sweep.used_ranks[m], strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=sweep.ranks,
                y=100 * np.asarray(errs),
                mode="lines+markers",
                name=name,
                line={"color": colour},
                hovertext=hover,
                hoverinfo="text",
            )
        )
        eff = sweep.effective_rank.get(m)
        if eff and eff in sweep.ranks:
            k = sweep.ranks.index(eff)
            fig.add_trace(
                go.Scatter(
                    x=[eff],
                    y=[100 * errs[k]],
                    mode="markers",
                    name=f"{label('legend.effective', lang)} ({name})",
                    marker={
                        "symbol": "star",
                        "size": 16,
                        "color": colour,
                        "line": {"color": "black", "width": 1},
                    },
                    hovertext=[f"{sweep.name} · {term(m, 'en')}: effective rank {eff} ({sweep.rule[m]})"],
                    hoverinfo="text",
                )
            )
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
    style(
        fig,
        label("title.error_vs_rank", lang, layer=sweep.name),
        label("axis.rank", lang),
        label("axis.rel_error", lang),
    )
    fig.update_xaxes(dtick=1)
    fig.update_yaxes(rangemode="tozero")
    return Figure(fig, caption("error_vs_rank", layer=sweep.name), "error_vs_rank", {"layer": sweep.name})


def spectra_figure(spectra: Sequence[Spectrum], lang: str = "en", layer: str | None = None) -> Figure:
    """Normalised singular values (log scale) of every unfolding of every learned factor of a layer."""
    spectra = list(spectra)
    name = layer or (spectra[0].layer if spectra else "")
    colours = categorical(len(spectra))
    fig = go.Figure()
    for colour, sp in zip(colours, spectra, strict=True):
        vals = sp.normalised
        trace_name = f"{sp.factor} · {sp.mode}"
        fig.add_trace(
            go.Scatter(
                x=np.arange(1, len(vals) + 1),
                y=np.maximum(vals, 1e-12),
                mode="lines+markers",
                name=trace_name,
                line={"color": colour},
                hovertext=[f"{sp.layer} · {trace_name} · #{k + 1}: {v:.3g}" for k, v in enumerate(vals)],
                hoverinfo="text",
            )
        )
    style(
        fig,
        label("title.spectra", lang, layer=name),
        label("axis.sv_index", lang),
        label("axis.sv_value", lang),
    )
    fig.update_yaxes(type="log")
    fig.update_xaxes(dtick=1)
    return Figure(fig, caption("spectra", layer=name), "spectra", {"layer": name})


def component_energy_figure(energy: ComponentEnergy, lang: str = "en") -> Figure:
    """Per seed component: energy share (dark) and share of the input-dependent part (light), in %."""
    r = np.arange(len(energy.share))
    colour = OKABE_ITO[3]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=r,
            y=100 * energy.share,
            name=label("legend.energy", lang),
            marker_color=[colour if a else GREY for a in energy.alive],
            hovertext=[
                f"{energy.layer} · component {k}: {100 * v:.1f}%{'' if a else ' (unused)'}"
                for k, v, a in zip(r, energy.share, energy.alive, strict=True)
            ],
            hoverinfo="text",
        )
    )
    fig.add_trace(
        go.Bar(
            x=r,
            y=100 * energy.variation_share,
            name=label("legend.variation", lang),
            marker_color=with_alpha(colour, 0.35),
            hovertext=[
                f"{energy.layer} · component {k}: {100 * v:.1f}% of the input-dependent part"
                for k, v in zip(r, energy.variation_share, strict=True)
            ],
            hoverinfo="text",
        )
    )
    fig.update_layout(barmode="group")
    style(
        fig,
        label("title.component_energy", lang, layer=energy.layer),
        label("axis.component", lang),
        label("axis.share", lang),
    )
    fig.update_xaxes(dtick=1)
    return Figure(
        fig, caption("component_energy", layer=energy.layer), "component_energy", {"layer": energy.layer}
    )


def effective_ranks(
    sweeps: dict[str, RankSweep], given: dict[str, int] | None = None, lang: str = "en"
) -> Figure:
    """Grouped bars: effective rank of each layer's update per decomposition, with the rank given."""
    layers = list(sweeps)
    methods = []
    for s in sweeps.values():
        methods += [m for m in s.errors if m not in methods]
    fig = go.Figure()
    for m in methods:
        vals = [sweeps[n].effective_rank.get(m) for n in layers]
        fig.add_trace(
            go.Bar(
                x=layers,
                y=[np.nan if v is None else v for v in vals],
                name=term(m, lang),
                marker_color=METHOD_COLOURS.get(m, GREY),
                hovertext=[
                    f"{n} · {term(m, 'en')}: effective rank {v} ({sweeps[n].rule.get(m, '')})"
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
                hovertext=[f"{n}: rank given {given.get(n)}" for n in layers],
                hoverinfo="text",
            )
        )
    fig.update_layout(barmode="group")
    style(
        fig,
        label("title.effective_ranks", lang),
        label("axis.layer", lang),
        label("axis.effective_rank", lang),
    )
    fig.update_xaxes(tickangle=-30)
    return Figure(fig, caption("effective_ranks"), "effective_ranks")
