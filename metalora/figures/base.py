"""The :class:`Figure` every builder returns, the shared layout, and :func:`finish` (title, axes, caption).

A builder only draws: it takes results that :mod:`metalora.analysis` computed and turns them into traces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import plotly.graph_objects as go

from ..i18n import check_lang
from .captions import LANGUAGES, caption, label

FONT = "Inter, 'Noto Sans JP', 'Hiragino Sans', Meiryo, 'Segoe UI', sans-serif"


@dataclass
class Figure:
    """A Plotly figure with its plain-language caption in every language.

    Attributes
    ----------
    fig : plotly.graph_objects.Figure
    caption : dict[str, str]
        ``{"en": ..., "ja": ...}``, one sentence each: what the figure shows and what it means.
    key : str
        Which view this is: the key of its caption in :data:`~metalora.figures.captions.CAPTIONS`. A builder
        may give one of two keys, by what it shows (``input_scaling`` / ``input_scaling_compare``;
        ``error_vs_rank`` / ``error_vs_rank_knee`` when no rank is within the tolerance);
        :data:`metalora.figures.BUILDERS` maps every key to its builder.
    meta : dict
        What the figure was drawn for (the layer, the grouping, the rows compared, ...).
    """

    fig: go.Figure
    caption: dict[str, str]
    key: str
    meta: dict = field(default_factory=dict)

    def caption_for(self, lang: str = "en") -> str:
        """The caption in ``lang`` (:class:`~metalora.errors.ConfigError` for an unsupported one)."""
        return self.caption[check_lang(lang)]

    def trace_names(self) -> list[str]:
        """The name of every trace, in drawing order."""
        return [t.name for t in self.fig.data]


#: More legend entries than this go in a column on the right: a row on top would grow into the title.
MAX_TOP_LEGEND = 6


def style(fig: go.Figure, title: str, x_title: str, y_title: str, *, height: int = 460) -> go.Figure:
    """White template, readable fonts (Japanese included), titled axes, legend on top (on the right when
    there are many entries). Call it after the traces are added."""
    entries = sum(1 for t in fig.data if t.showlegend is not False)
    if entries > MAX_TOP_LEGEND:
        legend = {"orientation": "v", "yanchor": "top", "y": 1.0, "x": 1.02, "xanchor": "left"}
        margin = {"l": 70, "r": 30, "t": 60, "b": 60}
    else:
        legend = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0.0}
        margin = {"l": 70, "r": 30, "t": 80, "b": 60}
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.0, "xanchor": "left"},
        font={"family": FONT, "size": 13},
        height=height,
        margin=margin,
        legend={**legend, "title": None},
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def finish(
    fig: go.Figure,
    key: str,
    lang: str,
    x_key: str,
    y_key: str,
    *,
    title_key: str | None = None,
    meta: dict | None = None,
    height: int = 460,
    **fields,
) -> Figure:
    """Style ``fig`` (title ``title.<title_key or key>``, axis labels ``x_key`` / ``y_key``) and wrap it
    with the caption ``key``: the same ``fields`` fill the title, the axis labels and the caption."""
    style(
        fig,
        label(f"title.{title_key or key}", lang, **fields),
        label(x_key, lang, **fields),
        label(y_key, lang, **fields),
        height=height,
    )
    return Figure(fig, caption(key, **fields), key, dict(meta or {}))


__all__ = ["FONT", "LANGUAGES", "MAX_TOP_LEGEND", "Figure", "finish", "style"]
