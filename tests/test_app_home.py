"""AppTest smoke tests of the dashboard's router, home page, languages and meeting mode."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from strings import STRINGS  # noqa: E402


def run_app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60)
    return at.run()


def test_home_renders_in_english_without_errors():
    at = run_app()
    assert not at.exception
    assert at.title[0].value == STRINGS["home_title"]["en"]
    assert len(at.markdown) >= 3
    assert at.button(key="run_demo").label == STRINGS["demo_button"]["en"]


def test_language_switch_to_japanese():
    at = run_app()
    at.sidebar.selectbox[0].set_value("ja").run()
    assert not at.exception
    assert at.title[0].value == STRINGS["home_title"]["ja"]
    assert at.button(key="run_demo").label == STRINGS["demo_button"]["ja"]
    assert at.sidebar.toggle[0].label == STRINGS["meeting_mode"]["ja"]


def test_meeting_mode_adds_large_type():
    at = run_app()
    at.sidebar.toggle[0].set_value(True).run()
    assert not at.exception
    assert any("font-size: 20px" in m.value for m in at.markdown)


def test_every_string_has_both_languages():
    for key, entry in STRINGS.items():
        assert entry.get("en") and entry.get("ja"), key
        fields_en = set(re.findall(r"{(\w+)}", entry["en"]))
        assert fields_en == set(re.findall(r"{(\w+)}", entry["ja"])), f"{key}: placeholders differ"


@pytest.mark.parametrize("folder", ["app", "pages"])
def test_every_key_used_in_the_code_exists(folder):
    pattern = re.compile(
        r"""\b(?:tr|t|show_caption|technical|page_title|choice|title_key=)\(?\s*["']([a-z0-9_]+)["']"""
    )
    for path in (ROOT / folder).glob("*.py"):
        for key in pattern.findall(path.read_text(encoding="utf-8")):
            assert key in STRINGS, f"{path.name}: missing string {key!r}"
