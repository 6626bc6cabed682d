"""Things to take away after the meeting: an adapter as a zip, the runs as CSV, an HTML report.

The HTML report is one self-contained file: Plotly's JavaScript is embedded once (with the first
figure) and every later figure reuses it, so the file opens offline in any browser. The report's
figures are those the session drew (see :func:`app.ui.chart`); :func:`html_report` only lays them out,
with Plotly and the standard library.
"""

from __future__ import annotations

import csv
import html
import io
import json
import tempfile
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from metalora import save_adapter

REPORT_CSS = """
body { font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2rem auto; color: #1B1F24; }
h1 { color: #0072B2; } figure { margin: 2rem 0; } figcaption { font-size: 1.1rem; margin-top: .5rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccd; padding: .3rem .6rem; }
"""


def adapter_zip(model, run_card: Mapping | None = None) -> bytes:
    """The adapter as a zip: ``adapter_model.safetensors`` + ``adapter_config.json`` (+ ``run.json``)."""
    with tempfile.TemporaryDirectory() as tmp:
        save_adapter(model, tmp)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(Path(tmp).iterdir()):
                zf.write(path, path.name)
            if run_card is not None:
                zf.writestr("run.json", json.dumps(run_card, indent=2, default=str))
    return buf.getvalue()


def folder_zip(folder: str | Path, run_card: Mapping | None = None) -> bytes:
    """Every file of a run folder (the adapter and ``run.json``) as a zip."""
    root = Path(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            zf.write(path, path.relative_to(root).as_posix())
        if run_card is not None and not (root / "run.json").exists():
            zf.writestr("run.json", json.dumps(run_card, indent=2, default=str))
    return buf.getvalue()


def table_csv(rows: Sequence[Mapping]) -> str:
    """Rows of plain values as CSV text (the header from the first row's keys)."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def _table_html(rows: Sequence[Mapping]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(
    title: str,
    figures: Iterable[tuple[str, object, str]],
    rows: Sequence[Mapping] = (),
    *,
    intro: str = "",
    lang: str = "en",
) -> str:
    """A self-contained HTML page: title, intro, the runs table, then each (heading, figure, caption)."""
    parts = [
        f'<!DOCTYPE html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{REPORT_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(intro)}</p>" if intro else "",
        f"<p><small>{time.strftime('%Y-%m-%d %H:%M')}</small></p>",
        _table_html(rows),
    ]
    first = True
    for heading, fig, caption in figures:
        body = fig.to_html(full_html=False, include_plotlyjs=bool(first))
        first = False
        parts.append(
            f"<figure><h2>{html.escape(heading)}</h2>{body}<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
