"""Runs: the session's runs — delete one, download its adapter, export the table and an HTML report."""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

from app import downloads, session
from app.picker import require_runs, select_run
from app.ui import REPORT, caption_text, guard, lang, page_title, show_caption, table, tr
from metalora.training.run_registry import RunRegistry

page_title("page_runs")
all_runs = require_runs()

rows = [r.row(lang()) for r in all_runs]
table(rows)
show_caption("caption_runs_table")
st.download_button(
    tr("download_csv"),
    downloads.table_csv(rows),
    "metalora-runs.csv",
    "text/csv",
    key="csv",
    on_click="ignore",
)

st.subheader(tr("one_run_header"))
run = select_run(tr("pick_run"), all_runs, key="runs_pick")
c1, c2 = st.columns(2)
with guard():
    card = {**run.row("en"), "config": run.result.config, "metrics": run.result.metrics}
    folder = run.result.adapter_path
    make_zip = (
        functools.partial(downloads.folder_zip, folder, card)
        if folder and Path(folder).is_dir()
        else functools.partial(downloads.adapter_zip, run.model, card)
    )
    c1.download_button(
        tr("download_adapter"),
        make_zip,
        f"metalora-run-{run.id}-{run.method}.zip",
        "application/zip",
        key="adapter_zip",
        on_click="ignore",
    )
if c2.button(tr("delete_run"), key="delete_run"):
    session.delete_run(run.id)
    st.rerun()

with st.expander(tr("registry_header")), guard():
    registry = RunRegistry()
    st.caption(tr("registry_explain", n=registry.count(), path=str(registry.db_path)))
    table(session.registry_rows(registry, lang()))
    st.download_button(
        tr("download_registry_csv"),
        registry.to_csv_string,
        "metalora-registry.csv",
        "text/csv",
        key="registry_csv",
        on_click="ignore",
    )

st.subheader(tr("report_header"))
figures = st.session_state.get(REPORT, {})
st.markdown(tr("report_explain", n=len(figures)))


def _report_items():
    return [
        (tr(title) if title else "", fig, caption_text(caption)) for title, fig, caption in figures.values()
    ]


with guard():
    html_text = functools.partial(
        downloads.html_report, tr("report_title"), _report_items(), rows, intro=tr("home_what_2"), lang=lang()
    )
    st.download_button(
        tr("download_report"),
        html_text,
        "metalora-report.html",
        "text/html",
        key="report_html",
        type="primary",
        on_click="ignore",
    )
