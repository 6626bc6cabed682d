"""AppTest smoke tests of the dashboard's router and home page."""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from strings import STRINGS  # noqa: E402


def run_app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=30)
    return at.run()


def test_home_renders_in_english_without_errors():
    at = run_app()
    assert not at.exception
    assert at.title[0].value == STRINGS["home_title"]["en"]
    assert len(at.markdown) >= 3


def test_language_switch_to_japanese():
    at = run_app()
    at.sidebar.selectbox[0].set_value("ja").run()
    assert not at.exception
    assert at.title[0].value == STRINGS["home_title"]["ja"]


def test_every_string_has_both_languages():
    for key, entry in STRINGS.items():
        assert entry.get("en") and entry.get("ja"), key
