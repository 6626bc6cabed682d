"""Fixtures of the end-to-end tests: a real Streamlit server and headless Chromium (Playwright).

Where Chromium or Playwright is missing the tests are skipped with a message — except when the
environment says ``CI=true``, where that is a failure. Playwright cannot download browsers here, so
it is pointed at the system's Chromium with ``executable_path``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import app_support as testkit

SHOTS = testkit.ROOT / "artifacts" / "screenshots"


def _missing(why: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{why} (CI=true: browser tests must run)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("Playwright is not installed: pip install -r requirements-dev.txt")
    path = testkit.find_chromium()
    if path is None:
        _missing("No Chromium found: apt-get install chromium")
    return path


@pytest.fixture(scope="session")
def server(tmp_path_factory, chromium_path) -> str:
    """The dashboard on a free port of 127.0.0.1, with a tiny demo; its URL."""
    env = testkit.tiny_env(tmp_path_factory.mktemp("browser"))
    proc, url = testkit.start_server(env)
    try:
        testkit.wait_healthy(proc, url)
        yield url
    finally:
        testkit.stop_server(proc)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=testkit.CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser, server):
    """One browser tab (one Streamlit session) shared by the tests of a module, in order."""
    context = browser.new_context(viewport={"width": 1400, "height": 1500}, locale="en-US")
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(server)
    testkit.wait_idle(tab)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
