"""Japanese complete, as the browser draws it: every page in ja mode after the demo, every text on screen.

The AppTest walk (``tests/test_app_japanese.py``) reads what the app sends; this one reads what Chromium
shows: the page's text with every folded section opened, Streamlit's own widget texts (placeholders, the
file uploader's instructions), and the text of every drawn chart (titles, axes, ticks, legends). It fails
on any English word that is not a name or in the allow-list of the AppTest walk.
"""

from __future__ import annotations

import re

import pytest

from tests import app_support as testkit
from tests.app_support import PLOT, assert_clean, go_to
from tests.app_support import text_of as s
from tests.test_app_japanese import PAGES, english_words

pytestmark = pytest.mark.browser

#: Streamlit's own texts that no app can set or replace, with why they may stay: the tooltip of the
#: full-screen button that Streamlit puts on every chart and table (drawn on hover only).
STREAMLIT_ENGLISH: set[str] = {"Fullscreen"}


@pytest.fixture(scope="module")
def ja_tab(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1500}, locale="ja-JP")
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(server)
    tab.get_by_role("heading", name=s("home_title", "ja")).wait_for()
    testkit.wait_idle(tab)
    tab.get_by_role("button", name=s("demo_button", "ja")).click()
    tab.locator('[data-testid="stProgress"]').first.wait_for()
    tab.locator('[data-testid="stProgress"]').first.wait_for(state="detached", timeout=300_000)
    testkit.wait_idle(tab)
    yield tab
    context.close()


def proper_names() -> set[str]:
    """Names shown as they are: sample model ids, architectures, the sample model's layers (code names)."""
    from metalora.adapters import adaptable_modules
    from metalora.models import build_model, list_architectures, list_sample_models

    layers = set(adaptable_modules(build_model("resnet-mini", in_channels=1, num_classes=10)))
    names = set(list_sample_models()) | set(list_architectures()) | layers
    return names | {part for n in names for part in n.split(".")}


def open_details(tab) -> None:
    """Open every folded section (expanders), so that their texts and charts are drawn too: one at a time,
    since opening a section reruns the page, which then draws the charts in it."""
    closed = tab.locator('[data-testid="stMain"] details:not([open]) > summary')
    for _ in range(20):
        if closed.count() == 0:
            return
        closed.first.click()
        testkit.wait_idle(tab)
    raise AssertionError("a folded section does not stay open")


#: Every text the browser draws under ``root``: text nodes that are shown (not in a hidden or zero-size
#: element, not an icon's ligature name such as "home", not code such as ``.npz``), the text a style draws
#: after an element (``::after``: the uploader's translated texts, the charts' toolbar tooltips), and the
#: placeholders of empty fields.
DRAWN_TEXTS = """
root => {
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('[data-testid="stIconMaterial"], code, style, script')) continue;
    if (!el.checkVisibility() || parseFloat(getComputedStyle(el).fontSize) === 0) continue;
    if (node.textContent.trim()) out.push(node.textContent.trim());
  }
  for (const el of root.querySelectorAll("*")) {
    const after = getComputedStyle(el, "::after").content;
    if (after && after !== "none" && after !== "normal" && after.startsWith('"')) out.push(JSON.parse(after));
  }
  for (const el of root.querySelectorAll("input[placeholder], textarea[placeholder]")) {
    if (el.checkVisibility() && !el.value) out.push(el.placeholder);
  }
  return out;
}
"""


def screen_texts(tab) -> list[str]:
    """What the main area and the sidebar show, and the charts' SVG texts (titles, axes, ticks, legends)."""
    texts = tab.locator('[data-testid="stMain"]').evaluate(DRAWN_TEXTS)
    texts += tab.locator('[data-testid="stSidebar"]').evaluate(DRAWN_TEXTS)
    return [t for t in texts if t and t.strip()]


def chart_texts(tab) -> list[str]:
    return tab.eval_on_selector_all(f"{PLOT} svg text", "els => els.map(e => e.textContent)")


def test_every_page_as_drawn_in_japanese_has_no_english_word(ja_tab, shots):
    proper = proper_names()
    found: dict[str, list[tuple[str, str]]] = {}
    charts = 0
    # Model & data again with each other source: the data column's and the model column's uploaders
    # (Streamlit's own texts), the torchvision / timm choice
    others = ("upload", "disk", "model_upload", "zoo")
    steps = [(key, None) for key in PAGES] + [("model_data", a) for a in others]
    for key, action in steps:
        go_to(ja_tab, key, "ja")
        if action in ("upload", "model_upload"):
            ja_tab.get_by_text(s("source_upload", "ja")).nth(1 if action == "upload" else 0).click()
            ja_tab.locator('[data-testid="stFileUploaderDropzone"]').first.wait_for()
            testkit.wait_idle(ja_tab)
        elif action in ("zoo", "disk"):
            ja_tab.get_by_text(s(f"source_{action}", "ja")).first.click()
            testkit.wait_idle(ja_tab)
        open_details(ja_tab)
        assert_clean(ja_tab)
        charts += ja_tab.locator(PLOT).count()
        where = f"{key}+{action}" if action else key
        for text in screen_texts(ja_tab) + chart_texts(ja_tab):
            for line in text.splitlines():
                words = [w for w in english_words(line, proper) if w not in STREAMLIT_ENGLISH]
                found.setdefault(where, []).extend((w, line[:90]) for w in words)
        ja_tab.screenshot(path=str(shots / f"40_ja_walk_{where}.png"), full_page=True)
    found = {k: v for k, v in found.items() if v}
    assert not found, "English on screen in ja mode:\n" + "\n".join(
        f"{page}: {word!r} in {line!r}" for page, hits in found.items() for word, line in hits
    )
    assert charts >= 8, f"the walk saw only {charts} charts: it did not reach the analysis pages"


def test_the_walk_reads_what_is_drawn(ja_tab):
    """The reader is not blind: it sees the intro, a chart's Japanese text, the uploader's drawn texts (the
    translation, not the hidden English), and the placeholder of an empty picker."""
    go_to(ja_tab, "scaling", "ja")
    assert any(s("scaling_intro", "ja")[:10] in t for t in screen_texts(ja_tab))
    assert any(re.search(r"[\u3040-\u30ff]", t) for t in chart_texts(ja_tab)), "a chart's Japanese text"
    go_to(ja_tab, "model_data", "ja")
    ja_tab.get_by_text(s("source_upload", "ja")).nth(1).click()
    ja_tab.locator('[data-testid="stFileUploaderDropzone"]').first.wait_for()
    testkit.wait_idle(ja_tab)
    texts = screen_texts(ja_tab)
    assert s("upload_button", "ja") in texts and not [t for t in texts if "per file" in t or t == "Upload"]
    go_to(ja_tab, "train", "ja")
    open_details(ja_tab)
    assert s("all_layers", "ja") in screen_texts(ja_tab), "the empty layer picker's placeholder"
    assert english_words("Choose an option", set()) == ["Choose", "an", "option"]
