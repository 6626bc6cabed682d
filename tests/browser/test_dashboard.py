"""The dashboard in a real browser: the demo, every page, uploads, languages, meeting mode, cancel.

The tests of this module share one tab (one session) and run in order. Screenshots land in
``artifacts/screenshots/``.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests import app_support as testkit
from tests.app_support import ERROR, EXCEPTION, PLOT, assert_clean, go_to
from tests.app_support import text_of as s

pytestmark = pytest.mark.browser

VIEWS = ["scaling", "ranks", "clusters", "accuracy", "runs", "model_data", "train"]


def select_all_points(page) -> None:
    """Box-select over the whole map, as a user would with the mouse."""
    plot = page.locator(".js-plotly-plot").first
    plot.hover()
    button = plot.locator('.modebar-btn[data-val="select"]')
    if button.count():
        button.first.click()
    box = plot.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 3, box["y"] + 3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3, steps=5)
    page.mouse.up()


def test_home_renders(page, shots):
    page.get_by_role("heading", name=s("home_title")).wait_for()
    assert_clean(page)
    page.screenshot(path=str(shots / "01_home.png"))


def test_uploads_good_and_bad(page, shots, tmp_path):
    go_to(page, "model_data")
    page.get_by_text(s("source_upload")).nth(1).click()  # the data column's radio
    testkit.wait_idle(page)
    good = tmp_path / "tiny.npz"
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez(buf, x=rng.integers(0, 256, (60, 16, 16), dtype=np.uint8), y=np.repeat(np.arange(3), 20))
    good.write_bytes(buf.getvalue())
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]').last
    uploader.set_input_files(str(good))
    testkit.wait_idle(page)
    page.get_by_role("button", name=s("use_data")).click()
    page.get_by_text("tiny.npz").first.wait_for()
    testkit.wait_idle(page)
    assert_clean(page)
    page.locator('[data-testid="stMain"] img').first.wait_for()  # the preview grid
    page.screenshot(path=str(shots / "02_upload_good.png"))

    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"this is not a numpy archive")
    uploader.set_input_files(str(bad))
    testkit.wait_idle(page)
    page.get_by_role("button", name=s("use_data")).click()
    page.locator(ERROR).first.wait_for()
    assert page.locator(EXCEPTION).count() == 0
    assert "npz" in page.locator(ERROR).first.inner_text().lower()
    page.screenshot(path=str(shots / "03_upload_bad.png"))


def test_demo_runs_and_guides(page, shots):
    go_to(page, "home")
    page.get_by_role("button", name=s("demo_button")).click()
    testkit.wait_demo_done(page)
    testkit.wait_idle(page)
    assert_clean(page)
    assert page.locator(PLOT).count() >= 1  # the training curves
    page.get_by_role("heading", name=s("headline_header")).wait_for()  # the result card
    assert page.locator('[data-testid="stMetric"]').count() >= 8
    page.screenshot(path=str(shots / "04_demo_done.png"), full_page=True)


@pytest.mark.parametrize("key", VIEWS)
def test_every_view_after_the_demo(page, shots, key):
    go_to(page, key)
    if key in ("scaling", "ranks", "clusters", "accuracy"):
        page.locator(PLOT).first.wait_for()
        testkit.wait_idle(page)
    assert_clean(page)
    if key == "clusters":
        select_all_points(page)
        page.locator('[data-testid="stMain"] [data-testid="stImage"] img').first.wait_for()
        testkit.wait_idle(page)
        assert_clean(page)
    page.screenshot(path=str(shots / f"05_{key}.png"), full_page=key in ("accuracy", "home"))


def test_downloads_from_the_runs_page(page, shots, tmp_path):
    go_to(page, "runs")
    for label, check in (
        ("download_csv", lambda b: b.startswith(b"run,method")),
        ("download_adapter", lambda b: b[:2] == b"PK"),
        ("download_report", lambda b: b"<figure>" in b and b"plotly" in b and len(b) > 1_000_000),
    ):
        with page.expect_download() as info:
            page.get_by_role("button", name=s(label)).click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        assert check(path.read_bytes()), label
    assert_clean(page)


def open_section(page, title: str) -> None:
    """Open the folded section ``title`` as a presenter does, and wait for its chart."""
    page.locator('[data-testid="stExpander"] summary', has_text=title).first.click()
    page.locator(PLOT).first.wait_for()
    testkit.wait_idle(page)


def test_japanese_and_meeting_mode(page, shots):
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="日本語").click()
    page.get_by_role("heading", name=s("page_runs", "ja")).wait_for()
    sidebar.get_by_text(s("meeting_mode", "ja")).click()
    testkit.wait_idle(page)
    go_to(page, "clusters", "ja")
    page.locator(PLOT).first.wait_for()
    testkit.wait_idle(page)
    assert_clean(page)
    assert page.get_by_text(s("clusters_intro", "ja")[:15]).count() == 1
    page.screenshot(path=str(shots / "06_clusters_ja_meeting.png"))
    go_to(page, "accuracy", "ja")
    page.get_by_role("heading", name=s("headline_header", "ja")).wait_for()  # the card opens the page
    open_section(page, s("acc_cost_header", "ja"))
    page.screenshot(path=str(shots / "07_accuracy_ja_meeting.png"), full_page=True)
    go_to(page, "home", "ja")
    page.get_by_role("heading", name=s("headline_header", "ja")).wait_for()
    page.screenshot(path=str(shots / "07b_home_ja_meeting.png"), full_page=True)
    sidebar.locator('[data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="English").click()
    page.get_by_role("heading", name=s("home_title")).wait_for()
    testkit.wait_idle(page)
    page.get_by_role("heading", name=s("headline_header")).wait_for()
    assert_clean(page)
    page.screenshot(path=str(shots / "07c_home_en_meeting.png"), full_page=True)
    go_to(page, "accuracy")
    page.get_by_role("heading", name=s("headline_header")).wait_for()
    open_section(page, s("acc_cost_header"))  # folded in meeting mode
    page.screenshot(path=str(shots / "07d_accuracy_en_meeting.png"), full_page=True)
    sidebar.get_by_text(s("meeting_mode")).click()
    testkit.wait_idle(page)


def test_cancel_a_training(page, shots):
    go_to(page, "model_data")
    page.get_by_role("button", name=s("use_model")).click()  # the sample model
    testkit.wait_idle(page)
    page.get_by_role("button", name=s("use_data")).click()  # the full digits: a long epoch
    testkit.wait_idle(page)
    go_to(page, "train")
    page.get_by_role("button", name=s("start_training")).click()
    cancel = page.get_by_role("button", name=s("cancel")).first
    cancel.wait_for()
    page.screenshot(path=str(shots / "08_training.png"))
    cancel.click()
    page.get_by_text(s("job_cancelled")).wait_for(timeout=60_000)
    testkit.wait_idle(page)
    assert_clean(page)
    page.screenshot(path=str(shots / "09_cancelled.png"))


def test_a_japanese_browser_gets_japanese(browser, server, shots):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    try:
        tab = context.new_page()
        tab.goto(server)
        tab.get_by_role("heading", name=s("home_title", "ja")).wait_for(timeout=60_000)
        testkit.wait_idle(tab)
        assert_clean(tab)
        tab.screenshot(path=str(shots / "10_home_ja.png"))
    finally:
        context.close()


def test_a_new_tab_loads_the_chart_library_while_its_first_page_is_read(browser, server):
    """A fresh tab draws one hidden, empty chart a moment after its first page (app.ui.preload_charts), so
    its first chart page does not wait for the chart library; nobody sees it, and it is drawn once."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    try:
        tab = context.new_page()
        tab.goto(server)
        tab.get_by_role("heading", name=s("home_title")).wait_for(timeout=60_000)
        preload = tab.locator(f".st-key-charts_preload {PLOT}")
        preload.wait_for(state="attached", timeout=30_000)  # Plotly drew it: the library is loaded
        assert not preload.is_visible(), "the preloading chart is hidden"
        assert tab.locator(f'[data-testid="stMain"] {PLOT}').count() == 1, (
            "a new Home draws no chart of its own"
        )
        tab.locator(".st-key-charts_preload").wait_for(state="detached", timeout=30_000)  # its timer stops
        go_to(tab, "runs")
        tab.wait_for_timeout(2_500)  # more than two ticks of its timer, had it kept one
        assert tab.locator(".st-key-charts_preload").count() == 0, "drawn once per tab"
    finally:
        context.close()
