"""The pages of the dashboard, by key, so that any page can link to any other."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.strings import t

ROOT = Path(__file__).resolve().parents[1]

#: key -> (file in pages/, icon). The order is the order of the navigation menu.
PAGE_FILES = {
    "home": ("home.py", ":material/home:"),
    "model_data": ("model_data.py", ":material/database:"),
    "train": ("train.py", ":material/model_training:"),
    "scaling": ("scaling.py", ":material/tune:"),
    "ranks": ("ranks.py", ":material/stacked_bar_chart:"),
    "clusters": ("clusters.py", ":material/scatter_plot:"),
    "accuracy": ("accuracy.py", ":material/target:"),
    "runs": ("runs.py", ":material/folder_open:"),
}

#: The pages Home points to once the session has runs (each with its ``next_<key>`` sentence).
NEXT_PAGES = ("scaling", "ranks", "clusters", "accuracy", "runs")

#: URL paths of the pages that show the training job in full (home is "").
PAGES_WITH_JOB_PANEL = ("", "train")

_pages: dict[str, st.Page] = {}


def build_pages(lang: str) -> list[st.Page]:
    """The ``st.Page`` objects in menu order, titled in ``lang``; remembered for :func:`link`."""
    _pages.clear()
    for key, (file, icon) in PAGE_FILES.items():
        _pages[key] = st.Page(
            ROOT / "pages" / file,
            title=t(f"page_{key}", lang),
            icon=icon,
            url_path=None if key == "home" else key,
            default=key == "home",
        )
    return list(_pages.values())


def page(key: str) -> st.Page:
    return _pages[key]


def link(key: str, lang: str) -> None:
    """A link to page ``key`` with its title in ``lang``."""
    _, icon = PAGE_FILES[key]
    st.page_link(_pages[key], label=t(f"page_{key}", lang), icon=icon)
