"""Router of the dashboard: page config, language, the door (a password beyond localhost), meeting mode,
this session's runs, navigation over ../pages/.

Run with ``make app`` (``python -m app.launch``, which starts ``streamlit run app/main.py`` on 127.0.0.1,
or beyond it only with a password: see ``app/access.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run app/main.py` puts only app/ on sys.path; `from app import ...` needs the repository root.
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:  # once: the router reruns on every interaction
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from app import access, glossary, nav, progress, session, ui  # noqa: E402
from app.strings import LANGUAGES, t  # noqa: E402

st.set_page_config(page_title="MetaLoRA Studio", page_icon="🧩", layout="wide")


def default_language() -> str:
    """Japanese when the browser asks for it, else English."""
    locale = (getattr(st.context, "locale", None) or "en").lower()
    return "ja" if locale.startswith("ja") else "en"


if "lang" not in st.session_state:
    st.session_state.lang = default_language()
access.require(st.session_state.lang)  # beyond localhost: the password before anything else runs
if session.ALL_RUNS in st.session_state:  # the toggle's value holds on pages that do not draw it
    st.session_state[session.ALL_RUNS] = st.session_state[session.ALL_RUNS]
session.sync_url()  # this session's run ids in the address: a reload still knows them

with st.sidebar:
    ui.selectbox(t("language", st.session_state.lang), list(LANGUAGES), format_func=LANGUAGES.get, key="lang")
    st.toggle(
        t("meeting_mode", st.session_state.lang), key="meeting", help=t("meeting_help", st.session_state.lang)
    )
    glossary.show(st.session_state.lang)  # folded: every word of the pages in one sentence

st.markdown(
    ui.BASE_CSS + ui.streamlit_texts_css(ui.lang()) + (ui.MEETING_CSS if ui.meeting() else ""),
    unsafe_allow_html=True,
)

current = st.navigation(nav.build_pages(st.session_state.lang))
if current.url_path not in nav.PAGES_WITH_JOB_PANEL:  # elsewhere the job's progress sits in the sidebar
    with st.sidebar:
        progress.job_panel(compact=True)
with ui.guard():  # a failure anywhere in a page is a plain message (never a traceback in meeting mode)
    current.run()
ui.preload_charts()  # the chart library, loaded while the first page is read (not on the first chart page)
