"""The live view of the session's training job: progress bar, curves, Cancel, and the outcome.

It runs as an ``@st.fragment(run_every=...)`` that only reads the job object; the training thread
never touches Streamlit. Polling stops as soon as the job is over, and one full rerun then lets
every page see the new runs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import streamlit as st

from app import session
from app.jobs import CANCELLED, DONE, FAILED, WAITING, TrainingJob
from app.strings import t
from app.ui import chart, lang, meeting, tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: Seconds between two looks at the job: the progress bar and its time left, and the curves. Each look is
#: a rerun that the browser redraws, and on a 2-core laptop that redrawing competes with the training:
#: looking every second made the demo in Chromium take twice the library's time (32 s against 13–17 s),
#: every 2 s with the curves every 5 s it takes 21–30 s as the first demo after a start and 16–20 s later
#: (docs/results.md, "The dashboard's demo").
POLL_S = float(os.environ.get("METALORA_POLL_S", "2.0"))
CURVES_POLL_S = float(os.environ.get("METALORA_CURVES_POLL_S", "5.0"))


def curves_figure(job: TrainingJob) -> go.Figure:
    """Training loss and accuracy so far, one line per run of the job."""
    import plotly.graph_objects as go

    _, _, _, points = job.snapshot()
    fig = go.Figure()
    for i, task in enumerate(job.tasks):
        pts = [p for p in points if p.task == i]
        if not pts:
            continue
        xs, label = [p.x for p in pts], task.label(lang())
        fig.add_scatter(
            x=xs,
            y=[p.loss for p in pts],
            name=f"{label} · {tr('loss')}",
            mode="lines+markers",
            hovertemplate=f"{tr('epoch')} %{{x:.1f}}<br>{tr('loss')} %{{y:.3f}}<extra>{label}</extra>",
        )
        fig.add_scatter(
            x=xs,
            y=[p.train_acc for p in pts],
            name=f"{label} · {tr('accuracy')}",
            mode="lines+markers",
            yaxis="y2",
            line={"dash": "dot"},
            hovertemplate=f"{tr('epoch')} %{{x:.1f}}<br>{tr('accuracy')} %{{y:.1%}}<extra>{label}</extra>",
        )
    epochs = max((t.train.epochs for t in job.tasks), default=1)
    fig.update_layout(
        height=320,
        margin={"l": 60, "r": 60, "t": 30, "b": 10},
        template="plotly_white",
        # whole epochs on the axis (the points fall between them: a point per part of an epoch)
        xaxis={"title": tr("epoch"), "range": [0, epochs], "dtick": 1 if epochs <= 12 else None},
        yaxis={"title": tr("loss"), "rangemode": "tozero"},
        yaxis2={
            "title": tr("accuracy"),
            "overlaying": "y",
            "side": "right",
            "range": [0, 1],
            "tickformat": ".0%",
            # its own ticks, 0 % to 100 % by 25 (not those lined up with the loss axis: 30 %, 60 %, 89 %)
            "tickmode": "array",
            "tickvals": [0, 0.25, 0.5, 0.75, 1],
            "showgrid": False,
        },
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def duration(seconds: float, lang: str) -> str:
    """A time left as people say it: ``"about 20 s"``, ``"about 3 min"``, ``"a few seconds"``."""
    if seconds < 5:
        return t("few_seconds", lang)
    if seconds < 90:
        return t("about_seconds", lang, n=int(5 * round(seconds / 5)))
    return t("about_minutes", lang, n=round(seconds / 60))


def ordinal(n: int, lang: str) -> str:
    """``2`` -> ``"2nd"`` in English, ``"2"`` in Japanese (its sentence says 番目)."""
    if lang != "en":
        return str(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _panel(compact: bool) -> None:
    job = session.job()
    if job is None:
        return
    status, index, overall, _ = job.snapshot()
    if status == WAITING:
        place = job.queue_place()  # None (or 1) for a moment: getting in line, taking the device
        queued = place is not None and place > 1
        text = tr("job_queued", place=ordinal(place, lang())) if queued else tr("job_waiting")
        st.warning(text, icon=":material/hourglass_top:")
    elif job.active:
        name = job.tasks[min(index, len(job.tasks) - 1)].label(lang())
        text = tr("job_running", i=index + 1, n=len(job.tasks), name=name)
        left = job.time_left()
        if left is not None:
            text += tr("job_time_left", left=duration(left, lang()))
        st.progress(overall, text=text)
    if job.active:
        st.button(tr("cancel"), key=f"cancel_{'side' if compact else 'main'}", on_click=job.cancel)
    if not job.active and session.collect():
        st.rerun()  # one full rerun so every page sees the new runs; polling stops with it
    if compact or job.active:
        return
    if status == DONE:
        st.success(tr("job_done", n=len(job.records)), icon=":material/check_circle:")
    elif status == CANCELLED:
        st.info(tr("job_cancelled"), icon=":material/stop_circle:")
    elif status == FAILED:
        if job.error_unexpected and meeting():
            st.error(tr("error_generic"), icon=":material/error:")
        elif job.error_unexpected:
            st.error(tr("error_unexpected", detail=job.error), icon=":material/error:")
            st.code(job.error_detail or "")
        else:
            st.error(job.error, icon=":material/error:")


def _curves() -> None:
    job = session.job()
    if job is not None and job.points:
        chart(curves_figure(job), "caption_curves", key="curves", title_key="training_curves")


def job_panel(compact: bool = False) -> None:
    """Draw the job's state: its progress refreshes every :data:`POLL_S` seconds while the job is running,
    its curves (not in the compact panel) every :data:`CURVES_POLL_S`."""
    job = session.job()
    if job is None:
        return
    every = (POLL_S * (2 if compact else 1)) if job.active else None
    st.fragment(run_every=every)(_panel)(compact)
    if not compact:
        st.fragment(run_every=CURVES_POLL_S if job.active else None)(_curves)()
