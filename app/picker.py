"""Choosing which run a view shows, and the opening every analysis page shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app import session
from app.ui import lang, page_title, tr

if TYPE_CHECKING:
    from app.session_runs import RunRecord

#: The kinds of run a view can need -> the session's runs of that kind. A kind's hint when the
#: session has runs but none of that kind is the string ``need_<kind>_runs``.
PICKS = {"scaling": session.scaling_runs, "adapters": session.adapter_runs}


def require_runs() -> list[RunRecord]:
    """The session's runs, oldest first; stops the page with a hint to train first when there is none."""
    runs = session.runs()
    if not runs:
        st.info(tr("need_runs"), icon=":material/arrow_back:")
        st.stop()
    return runs


def pick_run(kind: str, key: str = "run_pick") -> RunRecord:
    """A run picker (newest first) over the session's runs of ``kind`` (a key of :data:`PICKS`).

    Stops the page with a plain hint when there is none to show.
    """
    require_runs()
    choices = PICKS[kind]()
    if not choices:
        st.info(tr(f"need_{kind}_runs"), icon=":material/arrow_back:")
        st.stop()
    return select_run(tr("pick_run"), choices, key=key)


def select_run(label: str, runs: list[RunRecord], key: str) -> RunRecord:
    """A selectbox over ``runs`` (newest first), named in the current language.

    Its options are the run ids, not the runs: Streamlit copies a widget's value, and a run holds its
    model and its analysis.
    """
    by_id = {r.id: r for r in reversed(runs)}
    names = {i: r.name(lang()) for i, r in by_id.items()}
    return by_id[st.selectbox(label, list(by_id), format_func=names.__getitem__, key=key)]


def analysis_page(title_key: str, intro_key: str, kind: str) -> RunRecord:
    """The opening of an analysis page: its title, its one-paragraph intro, and the run to show."""
    page_title(title_key)
    st.markdown(tr(intro_key))
    return pick_run(kind)


def image_of(run: RunRecord, index: int):
    """Input ``index`` of the run's test split as an (H, W) or (H, W, 3) array for ``st.image``."""
    x = run.splits.test.x[int(index)]  # (C, H, W)
    return x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)
