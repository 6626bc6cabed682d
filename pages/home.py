"""Home: what MetaLoRA does in three sentences, the pipeline as a picture, the one-button demo and, once
it has run, the result card (first on the page in meeting mode)."""

from __future__ import annotations

import streamlit as st

from app import measured, nav, progress, session, ui
from app.ui import guard, lang, meeting, show_caption, tr

POINTS = ("home_what_1", "home_what_2", "home_what_3")
NODES = ("node_input", "node_features", "node_mapping", "node_scaling", "node_update", "node_output")


def result_card(runs) -> None:
    """The result card of this session's demo (nothing before the demo has run)."""
    with guard():
        from app import headline

        with st.spinner(tr("computing")):
            facts = headline.headline(runs)
        headline.show(facts, lang())


runs = session.runs()
if runs and meeting():
    result_card(runs)

st.title(tr("home_title"))
for key in POINTS:
    st.markdown(f"- {tr(key)}")

st.markdown(ui.flow_html([tr(n) for n in NODES]), unsafe_allow_html=True)  # plain HTML: no chart library
show_caption("pipeline_caption")

st.header(tr("demo_header"))
st.markdown(tr("demo_explain", warm=round(measured.DEMO_SECONDS), cold=round(measured.DEMO_SECONDS_FIRST)))
if (here := measured.seconds_here()) is not None:  # what this computer took: the promise that fits it
    st.markdown(tr("demo_here", s=round(here)))
job = session.job()
busy = job is not None and job.active
if st.button(tr("demo_button"), type="primary", disabled=busy, key="run_demo"):
    with guard():
        from app import demo_job  # loads the library's training: only when asked for

        if demo_job.start_demo():
            st.rerun()
if job is not None:
    from app import demo_job

    budget = demo_job.budget_text(lang())
    if budget:
        st.markdown(budget)
progress.job_panel()

if runs:
    if not meeting():
        result_card(runs)
    st.subheader(tr("demo_next"))
    for key in nav.NEXT_PAGES:
        cols = st.columns([1, 3])
        with cols[0]:
            nav.link(key, lang())
        cols[1].markdown(tr(f"next_{key}"))
