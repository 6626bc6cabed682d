"""Choosing which runs a view shows, and the opening every analysis page shares.

Every page with runs offers the toggle "All recorded runs" (:func:`scope_toggle`): off, it shows this
session's runs; on, every run of the registry (other sessions', the command line's, those from before
a restart). The toggle's value is one session key (:data:`app.session.ALL_RUNS`), so it holds on every page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app import session
from app.ui import lang, page_title, selectbox, show_error, tr

if TYPE_CHECKING:
    from app.session_runs import RunRecord

#: The kinds of run a view can need -> the runs of that kind in view. A kind's hint when there are runs
#: but none of that kind is the string ``need_<kind>_runs``.
PICKS = {"scaling": session.scaling_runs, "adapters": session.adapter_runs}


def scope_toggle() -> bool:
    """The toggle "All recorded runs" (off: this session's runs); returns its value."""
    return st.toggle(tr("all_runs"), key=session.ALL_RUNS, help=tr("all_runs_help"))


def no_runs_hint() -> None:
    """Say why nothing is shown: no run at all, or none of this session while the registry has some."""
    recorded = 0 if session.show_all() else session.registry().count()
    if recorded:
        st.info(tr("need_runs_recorded", n=recorded), icon=":material/history:")
    else:
        st.info(tr("need_runs"), icon=":material/arrow_back:")


def require_runs(*, failed: bool = False) -> list[RunRecord]:
    """The toggle, then the runs in view, oldest first (``failed``: failed runs too); stops the page with a
    hint when there is none."""
    scope_toggle()
    runs = session.listed() if failed else session.runs()
    if not runs:
        no_runs_hint()
        st.stop()
    return runs


def pick_run(kind: str, key: str = "run_pick") -> RunRecord:
    """A run picker (newest first) over the runs of ``kind`` in view (a key of :data:`PICKS`), the run
    loaded (rebuilt from its folder when it is not in memory).

    Stops the page with a plain hint when there is none to show, or when the run cannot be rebuilt.
    """
    require_runs()
    choices = PICKS[kind]()
    if not choices:
        st.info(tr(f"need_{kind}_runs"), icon=":material/arrow_back:")
        st.stop()
    run = select_run(tr("pick_run"), choices, key=key)
    if not run.loaded:
        try:
            with st.spinner(tr("rebuilding")):
                run.model  # noqa: B018 -- the property rebuilds the model and the data from the folder
        except Exception as err:  # a plain message (the run's numbers stay on the other pages)
            show_error(err)
            st.stop()
    return run


def select_run(label: str, runs: list[RunRecord], key: str) -> RunRecord:
    """A selectbox over ``runs`` (newest first), named in the current language.

    Its options are the run ids, not the runs: Streamlit copies a widget's value, and a run holds its
    model and its analysis.
    """
    by_id = {r.id: r for r in reversed(runs)}
    names = {i: r.name(lang()) for i, r in by_id.items()}
    return by_id[selectbox(label, list(by_id), format_func=names.__getitem__, key=key)]


def analysis_page(title_key: str, intro_key: str, kind: str) -> RunRecord:
    """The opening of an analysis page: its title, its one-paragraph intro, and the run to show."""
    page_title(title_key)
    st.markdown(tr(intro_key))
    return pick_run(kind)


def image_of(run: RunRecord, index: int):
    """Input ``index`` of the run's test split as an (H, W) or (H, W, 3) array for ``st.image``."""
    x = run.splits.test.x[int(index)]  # (C, H, W)
    return x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)


def selected_rows(event) -> list[int]:
    """The table rows of the points a chart selection event names, each once, in the order selected.

    The cluster map draws the most typical inputs twice (a dot and a ring over it), so one lasso can
    select the same input twice; it is listed once. ``customdata`` is ``[index in the data set, row in
    the table]`` and may arrive as ``{"0": ..., "1": ...}``.
    """
    points = (event.get("selection") or {}).get("points", []) if event else []
    rows: dict[int, None] = {}
    for p in points:
        data = p.get("customdata")
        data = list(data.values()) if isinstance(data, dict) else data
        if isinstance(data, list | tuple) and len(data) >= 2:
            rows[int(data[1])] = None
    return list(rows)
