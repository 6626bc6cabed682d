"""Router of the dashboard: page config, language, navigation over the pages in ../pages/.

Run with ``streamlit run app/main.py`` (the README's command does it on 127.0.0.1).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from strings import LANGUAGES, t

ROOT = Path(__file__).resolve().parents[1]

st.set_page_config(page_title="MetaLoRA Studio", page_icon="🧩", layout="wide")


def default_language() -> str:
    locale = (getattr(st.context, "locale", None) or "en").lower()
    return "ja" if locale.startswith("ja") else "en"


if "lang" not in st.session_state:
    st.session_state.lang = default_language()

with st.sidebar:
    st.selectbox(t("language", st.session_state.lang), list(LANGUAGES), format_func=LANGUAGES.get, key="lang")

lang = st.session_state.lang
pages = [st.Page(ROOT / "pages" / "home.py", title=t("page_home", lang), icon="🏠", default=True)]
st.navigation(pages).run()
