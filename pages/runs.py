"""Runs: this session's runs (or every recorded one) — download an adapter, delete a run (after a
confirmation), export the table, the whole registry and an HTML report; the disk space runs use and a
clean-up of old runs (it shows what would go and the space freed, then asks).

Failed runs are listed with their status; they have nothing to download. The registry's own table is
always there, also in a session that has trained nothing.
"""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

from app import cleanup, downloads, session, views
from app.picker import no_runs_hint, scope_toggle, select_run
from app.session_runs import MEETING_COLUMNS
from app.ui import REPORT, caption_text, choice, guard, lang, page_title, show_caption, table, technical, tr

#: The session key of the run waiting for the user to confirm its deletion.
CONFIRM = "delete_pending"

page_title("page_runs")
scope_toggle()
all_runs = session.listed()
rows = [r.row(lang()) for r in all_runs]

if not all_runs:
    no_runs_hint()
else:
    table(rows, columns=views.RUN_TABLE_COLUMNS, meeting_columns=MEETING_COLUMNS)  # fits the page
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
    with guard():
        folder = run.result.adapter_path
        if not run.completed:
            st.caption(tr("run_failed", error=run.result.error or "–"))
        elif (folder and Path(folder).is_dir()) or run.loaded:
            card = {**run.row("en"), "config": run.result.config, "metrics": run.result.metrics}
            make_zip = (
                functools.partial(downloads.folder_zip, folder, card)
                if folder and Path(folder).is_dir()
                else functools.partial(downloads.adapter_zip, run.model, card)
            )
            st.download_button(
                tr("download_adapter"),
                make_zip,
                f"metalora-run-{run.id}-{run.method}.zip",
                "application/zip",
                key="adapter_zip",
                on_click="ignore",
            )
    if st.session_state.get(CONFIRM) != run.id:
        if st.button(tr("delete_run"), key="delete_run", icon=":material/delete:"):
            st.session_state[CONFIRM] = run.id  # ask first: deleting cannot be undone
            st.rerun()
    else:
        st.warning(tr("delete_confirm", name=run.name(lang())), icon=":material/warning:")
        yes, no = st.columns(2)
        if yes.button(tr("delete_yes"), key="delete_yes", type="primary", width="stretch"):
            st.session_state.pop(CONFIRM, None)
            with guard():
                session.delete_run(run.id)
            st.rerun()
        if no.button(tr("delete_no"), key="delete_no", width="stretch"):
            st.session_state.pop(CONFIRM, None)
            st.rerun()

with st.expander(tr("registry_header")), guard():
    registry = session.registry()
    st.caption(tr("registry_explain", n=registry.count(), path=str(registry.db_path)))
    table(session.registry_rows(registry, lang()), meeting_columns=session.MEETING_REGISTRY_COLUMNS)
    st.download_button(
        tr("download_registry_csv"),
        registry.to_csv_string,
        "metalora-registry.csv",
        "text/csv",
        key="registry_csv",
        on_click="ignore",
    )

st.subheader(tr("cleanup_header"))
with guard():
    registry = session.registry()
    st.markdown(cleanup.usage_text(registry, lang()))
    done = st.session_state.pop(cleanup.DONE, None)
    for text in done.texts(lang()) if done is not None else []:
        st.success(text, icon=":material/check:")
    pending = st.session_state.get(cleanup.PENDING)
    if pending is None:
        with technical("cleanup_open"):
            st.caption(tr("cleanup_explain"))
            rule = choice("cleanup_rule", list(cleanup.RULES), "cleanup_rule_", key="cleanup_rule")
            n = st.number_input(
                tr("cleanup_days" if rule == "older" else "cleanup_keep"),
                min_value=0,
                value=30 if rule == "older" else 10,
                step=1,
                key=f"cleanup_n_{rule}",
            )
            if st.button(tr("cleanup_preview"), key="cleanup_preview", icon=":material/search:"):
                found = cleanup.preview(registry, rule, int(n))
                if not found.empty:
                    st.session_state[cleanup.PENDING] = found  # nothing is deleted before the confirmation
                    st.rerun()
                st.info(tr("cleanup_nothing"), icon=":material/check:")
    else:
        for text in pending.confirm_texts(lang()):
            st.warning(text, icon=":material/warning:")
        if pending.ids:
            table(pending.rows(lang()), meeting_columns=cleanup.CLEANUP_COLUMNS)
        yes, no = st.columns(2)
        if yes.button(pending.yes_text(lang()), key="cleanup_yes", type="primary", width="stretch"):
            st.session_state.pop(cleanup.PENDING, None)
            st.session_state[cleanup.DONE] = cleanup.delete(pending)
            st.rerun()
        if no.button(tr("cleanup_no"), key="cleanup_no", width="stretch"):
            st.session_state.pop(cleanup.PENDING, None)
            st.rerun()

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
