"""In a real browser: runs survive a reload and a server restart; meeting mode's charts suit a projector.

One server of its own (it is restarted), one tab, tests in order: the tiny demo, a reload, a restart of
the server process on the same port and data folder, then meeting mode at 1280 px: every chart text at
least 18 px and no table wider than the page.
"""

from __future__ import annotations

import pytest

from tests import app_support as testkit
from tests.app_support import PLOT, assert_clean, go_to
from tests.app_support import text_of as s

pytestmark = pytest.mark.browser


def assert_runs_shown(page) -> None:
    """The Runs page lists this session's two demo runs (no hint to train first, no toggle needed)."""
    go_to(page, "runs")
    assert_clean(page)
    assert page.get_by_text(s("need_runs")[:20]).count() == 0
    assert page.get_by_text(s("need_runs_recorded")[:20]).count() == 0
    page.get_by_role("button", name=s("delete_run")).wait_for()
    assert "runs=" in page.url, page.url


@pytest.fixture(scope="module")
def restartable(tmp_path_factory, chromium_path):
    """A server that a test can stop and start again (same port, same data folder)."""
    env = testkit.tiny_env(tmp_path_factory.mktemp("registry_browser"))
    port = testkit.free_port()
    state = {}

    def start():
        proc, url = testkit.start_server(env, port)
        testkit.wait_healthy(proc, url)
        state.update(proc=proc, url=url)
        return url

    def restart():
        testkit.stop_server(state["proc"])
        return start()

    start()
    state["restart"] = restart
    try:
        yield state
    finally:
        testkit.stop_server(state["proc"])


@pytest.fixture(scope="module")
def tab(browser, restartable):
    context = browser.new_context(viewport={"width": 1280, "height": 1100}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(restartable["url"])
    testkit.wait_idle(page)
    yield page
    context.close()


def test_the_demo_then_a_reload_keeps_the_runs(tab):
    tab.get_by_role("button", name=s("demo_button")).click()
    testkit.wait_demo_done(tab)
    testkit.wait_idle(tab)
    assert_runs_shown(tab)
    tab.reload()
    testkit.wait_idle(tab)
    assert_runs_shown(tab)


def test_a_server_restart_keeps_the_runs_and_rebuilds_them(tab, restartable, shots):
    url = tab.url
    restartable["restart"]()
    tab.goto(url)  # the same address: it names this session's runs
    testkit.wait_idle(tab)
    assert_runs_shown(tab)
    go_to(tab, "scaling")  # nothing of the run is in memory: it is rebuilt from its folder
    tab.locator(PLOT).first.wait_for()
    testkit.wait_idle(tab)
    assert_clean(tab)
    assert tab.locator(PLOT).count() >= 3
    tab.screenshot(path=str(shots / "20_scaling_after_restart.png"))


def svg_font_sizes(page) -> list[float]:
    """The rendered font size (px) of every non-empty text of every chart's SVG."""
    return page.eval_on_selector_all(
        f"{PLOT} svg text",
        "els => els.filter(e => e.textContent.trim()).map(e => parseFloat(getComputedStyle(e).fontSize))",
    )


def test_meeting_mode_charts_have_projector_sized_text(tab, shots):
    from app.ui import MEETING_FONT_PX

    go_to(tab, "accuracy")
    tab.locator(PLOT).first.wait_for()
    normal = svg_font_sizes(tab)
    assert normal and min(normal) < MEETING_FONT_PX, "without meeting mode the builders' sizes stay"
    tab.locator('[data-testid="stSidebar"]').get_by_text(s("meeting_mode")).click()
    testkit.wait_idle(tab)
    for header in ("acc_cost_header", "runs_table_header"):  # meeting mode folds the details: unfold two
        tab.locator('[data-testid="stExpander"] summary', has_text=s(header)).first.click()
        testkit.wait_idle(tab)  # opening a section reruns the page, which draws its charts
    tab.locator(PLOT).first.wait_for()
    tab.wait_for_function(
        f"() => [...document.querySelectorAll('{PLOT} svg text')].every("
        f"e => !e.textContent.trim() || parseFloat(getComputedStyle(e).fontSize) >= {MEETING_FONT_PX})"
    )
    sizes = svg_font_sizes(tab)
    assert len(sizes) > 10 and min(sizes) >= MEETING_FONT_PX, sorted(sizes)[:5]
    tab.screenshot(path=str(shots / "21_accuracy_meeting_1280.png"), full_page=True)
    tables = (
        '[data-testid="stTable"], [data-testid="stTable"] table, [data-testid="stDataFrame"] .dvn-scroller'
    )
    overflow = tab.eval_on_selector_all(tables, "els => els.map(e => e.scrollWidth - e.clientWidth)")
    assert tab.locator('[data-testid="stTable"]').count() >= 1, "meeting mode's runs table"
    assert max(overflow) <= 1, f"a table is wider than the page at 1280 px: {overflow}"
    go_to(tab, "clusters")
    tab.locator(PLOT).first.wait_for()
    dragmode = tab.eval_on_selector(PLOT, "el => el._fullLayout.dragmode")
    assert dragmode == "lasso"
    tab.screenshot(path=str(shots / "22_clusters_meeting_1280.png"), full_page=True)
