"""In a real browser: the dashboard shared on the network asks for the password before any page runs.

The server is started the way ``make app HOST=0.0.0.0`` starts it, through ``python -m app.launch``, on
every interface with a password from ``$METALORA_PASSWORD``; the browser opens it on 127.0.0.1. The
gate follows the address the server listens on, not the client's, so even this local browser must
log in. One tab, tests in order: the form, a wrong password, the right one, a reload (a new session
asks again), then a Japanese browser.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.access import PASSWORD_ENV, TEXTS
from app.strings import STRINGS
from tests import app_support as testkit

pytestmark = pytest.mark.browser

SECRET = "a long LAN password 42"
EXCEPTION = '[data-testid="stException"]'
ERROR = '[data-testid="stAlertContentError"]'
NAV = '[data-testid="stSidebarNav"]'
FIELD = 'input[type="password"]'


@pytest.fixture(scope="module")
def lan_server(tmp_path_factory, chromium_path):
    """The dashboard on 0.0.0.0 (via the launcher) with a password; its URL on 127.0.0.1."""
    env = {**os.environ, **testkit.tiny_env(tmp_path_factory.mktemp("access")), PASSWORD_ENV: SECRET}
    env.pop("METALORA_ALLOW_OPEN", None)
    port = testkit.free_port()
    cmd = [
        sys.executable, "-m", "app.launch", "--host", "0.0.0.0", "--port", str(port), "--",
        "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=testkit.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        testkit.wait_healthy(proc, url)
        yield url
    finally:
        testkit.stop_server(proc)


@pytest.fixture(scope="module")
def tab(browser, lan_server):
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(lan_server)
    testkit.wait_idle(page)
    yield page
    context.close()


def home_title(lang: str = "en") -> str:
    return STRINGS["home_title"][lang]


def assert_shut(page) -> None:
    """The form is there and nothing of the dashboard: no page menu, no home page, no exception."""
    page.locator(FIELD).wait_for()
    assert page.locator(NAV).count() == 0
    assert page.get_by_role("heading", name=home_title()).count() == 0
    assert page.locator(EXCEPTION).count() == 0
    assert SECRET not in page.content()


def log_in(page, typed: str) -> None:
    page.locator(FIELD).fill(typed)
    page.get_by_role("button", name=TEXTS["submit"]["en"]).click()
    testkit.wait_idle(page)


def test_the_login_form_comes_first(tab, shots):
    tab.get_by_role("heading", name=TEXTS["title"]["en"]).wait_for()
    tab.get_by_text(TEXTS["intro"]["en"]).wait_for()
    assert_shut(tab)
    tab.screenshot(path=str(shots / "11_login.png"))


def test_a_wrong_password_is_refused(tab, shots):
    log_in(tab, "not it")
    tab.locator(ERROR).first.wait_for()
    assert tab.locator(ERROR).first.inner_text().strip() == TEXTS["wrong"]["en"]
    assert tab.locator(FIELD).input_value() == ""  # the typed text is gone
    assert_shut(tab)
    assert "not it" not in tab.content()
    tab.screenshot(path=str(shots / "12_login_refused.png"))


def test_the_right_password_opens_the_home_page(tab, shots):
    log_in(tab, SECRET)
    tab.get_by_role("heading", name=home_title()).wait_for()
    testkit.wait_idle(tab)
    assert tab.locator(NAV).count() == 1
    assert tab.locator(FIELD).count() == 0
    assert tab.locator(EXCEPTION).count() == 0 and tab.locator(ERROR).count() == 0
    assert SECRET not in tab.content()
    tab.screenshot(path=str(shots / "13_login_home.png"))


def test_a_reload_is_a_new_session_that_asks_again(tab):
    tab.reload()
    testkit.wait_idle(tab)
    assert_shut(tab)


def test_a_japanese_browser_gets_the_form_in_japanese(browser, lan_server):
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="ja-JP")
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(lan_server)
        testkit.wait_idle(page)
        page.get_by_text(TEXTS["intro"]["ja"]).wait_for()
        page.locator(FIELD).fill("違う")
        page.get_by_role("button", name=TEXTS["submit"]["ja"]).click()
        page.get_by_text(TEXTS["wrong"]["ja"]).wait_for()
        assert page.locator(NAV).count() == 0
    finally:
        context.close()
