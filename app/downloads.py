"""Things to take away after the meeting: an adapter as a zip, the runs as CSV, an HTML report.

The HTML report is one self-contained file: Plotly's JavaScript is embedded once (with the first
figure) and every later figure reuses it, so the file opens offline in any browser. The report's
figures are those the session drew (see :func:`app.ui.chart`); :func:`html_report` lays them out with the
library's one page builder (:mod:`metalora.figures.html`).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from metalora import save_adapter
from metalora.figures.html import html_page


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


def html_report(
    title: str,
    figures: Iterable[tuple[str, object, str]],
    rows: Sequence[Mapping] = (),
    *,
    intro: str = "",
    lang: str = "en",
) -> str:
    """The meeting's report: :func:`metalora.figures.html.html_page` of the session's figures, dated, all in
    ``lang``: the table's headers are the translated ``col_<key>`` of the rows' keys (the runs table's), and
    the glossary (:mod:`app.glossary`) closes it."""
    from app import glossary
    from app.strings import t

    table = [{t(f"col_{c}", lang): v for c, v in row.items()} for row in rows]
    words = (t("glossary", lang), glossary.entries(lang))
    return html_page(title, figures, table, intro=intro, lang=lang, dated=True, glossary=words)
