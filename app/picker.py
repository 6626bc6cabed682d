"""Choosing which run a view shows (shared by the analysis pages)."""

from __future__ import annotations

import state
import streamlit as st
from runs import RunRecord
from ui import tr


def pick_run(kind: str = "seeded", key: str = "run_pick") -> RunRecord:
    """A run picker (newest first) over ``"seeded"``, ``"adapters"`` or ``"all"`` runs.

    Stops the page with a plain hint when there is none to show.
    """
    all_runs = state.runs()
    choices = {"seeded": state.scaling_runs, "adapters": state.adapter_runs}.get(kind, state.runs)()
    if not choices:
        st.info(tr("need_runs" if not all_runs else f"need_{kind}_runs"), icon=":material/arrow_back:")
        st.stop()
    choices = list(reversed(choices))
    return st.selectbox(tr("pick_run"), choices, format_func=lambda r: r.name, key=key)


def image_of(run: RunRecord, index: int):
    """Input ``index`` of the run's test split as an (H, W) or (H, W, 3) array for ``st.image``."""
    x = run.splits.test.x[int(index)]  # (C, H, W)
    return x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)
