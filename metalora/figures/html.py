"""One self-contained HTML page of figures: the dashboard's meeting report and the benchmarks' figures file.

Plotly's JavaScript is embedded once (with the first figure) and every later figure reuses it, so the file
opens offline in any browser. Figure ``div`` ids are fixed (``figure-0``, ``figure-1``...), so the same
figures give the same bytes (the page's date, when asked for, is the only thing that changes).
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["REPORT_CSS", "html_page"]

REPORT_CSS = """
body { font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2rem auto; color: #1B1F24; }
h1 { color: #0072B2; } figure { margin: 2rem 0; } figcaption { font-size: 1.1rem; margin-top: .5rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccd; padding: .3rem .6rem; }
dt { font-weight: bold; margin-top: .6rem; } dd { margin-left: 1.2rem; }
"""


def _table_html(rows: Sequence[Mapping]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_page(
    title: str,
    figures: Iterable[tuple[str, object, str]],
    rows: Sequence[Mapping] = (),
    *,
    intro: str = "",
    lang: str = "en",
    dated: bool = True,
    glossary: tuple[str, Sequence[tuple[str, str]]] | None = None,
) -> str:
    """The page: title, intro, a table of ``rows``, then each ``(heading, Plotly figure, caption)``, then
    ``glossary`` when given (``(heading, [(word, what it means), ...])``, as a definition list).

    Every text is the caller's, in ``lang`` (the page's ``lang`` attribute); the page adds no word of its own.
    ``dated`` adds the time the page was made under the intro (leave it out for a reproducible file).
    """
    parts = [
        f'<!DOCTYPE html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{REPORT_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(intro)}</p>" if intro else "",
        f"<p><small>{time.strftime('%Y-%m-%d %H:%M')}</small></p>" if dated else "",
        _table_html(rows),
    ]
    for i, (heading, fig, caption) in enumerate(figures):
        body = fig.to_html(full_html=False, include_plotlyjs=i == 0, div_id=f"figure-{i}")
        parts.append(
            f"<figure><h2>{html.escape(heading)}</h2>{body}<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    if glossary is not None:
        heading, words = glossary
        items = "".join(f"<dt>{html.escape(w)}</dt><dd>{html.escape(m)}</dd>" for w, m in words)
        parts.append(f"<section><h2>{html.escape(heading)}</h2><dl>{items}</dl></section>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)
