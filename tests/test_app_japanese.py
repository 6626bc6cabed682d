"""Japanese complete: every page in ``ja`` after a tiny demo shows no English word a manager must read.

The test walks every page (AppTest), collects every visible text — markdown, titles, captions, alerts,
metric labels and values, button and widget labels, help and options, table headers and cells, and the
titles, axis titles, legend names, annotations and hover texts of the Plotly figures — and fails on any
English word that is not a proper name or a unit of :data:`ALLOWED`. Identifiers (model ids, layer names,
file names) are recognised by their digits, dots, slashes or underscores, or by being the names the
session itself offers (sample models, layers).

Words the library would still write in English into its figures are listed in :data:`LIBRARY_ENGLISH`
(by where they come from): inside a figure they are left out of the main check and reported, and
:func:`test_library_texts_are_japanese` fails while any is met. The list is empty: the library's figures are
Japanese in ``ja``, hover texts and trace names included. The same walk checks that every page uses one
word for each idea (:func:`app.glossary.mixed_forms`: パラメーター, 層, 正解率, スケーリング係数 ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from app.strings import STRINGS
from tests.app_support import environment, new_app, tiny_env

PAGES = ["home", "model_data", "train", "scaling", "ranks", "clusters", "accuracy", "runs"]

#: Words that stay as they are in Japanese text: method and product names, units, abbreviations that
#: managers read as such, file formats, and the name of the other language in the language menu.
ALLOWED = {
    "LoRA", "MetaLoRA", "Studio", "CP", "TR", "GPU", "CPU", "cpu", "ARI", "NMI", "PCA", "FLOPs", "MB", "MiB", "PNG", "ResNet", "MLP", "Mixer", "ViT", "CIFAR",
    "KiB", "GB", "ms", "px", "CSV", "HTML", "zip", "torchvision", "timm", "PyTorch", "Conv2d", "Linear",
    "English", "MPS", "Apple", "cuda", "auto",
}  # fmt: skip

#: English words the library writes into its figures' hover texts and trace names in every language:
#: {where it comes from: words}. Only figure texts may hold them (the app's own texts may not); they are
#: reported to the library's owner. Empty: the library writes every text of its figures in the language
#: asked for (its string tables, metalora/figures/captions.py). Add an entry only for a new figure text
#: that is not translated yet, and remove it once it is.
LIBRARY_ENGLISH: dict[str, set[str]] = {}

#: Protocol-buffer fields of Streamlit's elements that hold text a user sees.
TEXT_FIELDS = {"label", "body", "options", "caption", "help", "placeholder", "text", "delta", "message"}
IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_.\-:/#]*")
SKIP_ELEMENTS: set[str] = set()  # every element is read, the pipeline picture on Home too (HTML text)


@pytest.fixture(scope="module")
def japanese_app(tmp_path_factory):
    with environment(tiny_env(tmp_path_factory.mktemp("ja"))):
        at = new_app()
        at.sidebar.selectbox[0].set_value("ja").run()
        at.button(key="run_demo").click().run()
        job = at.session_state["job"]
        assert job.join(120), "training did not finish in time"
        at.run()
        assert job.status == "done", job.error
        yield at


def proto_texts(message) -> Iterator[str]:
    """Every string of a protocol-buffer message in a field of :data:`TEXT_FIELDS`, at any depth."""
    for field, value in message.ListFields():
        if field.message_type is not None:
            items = [value] if hasattr(value, "ListFields") else value
            for item in items:
                yield from proto_texts(item)
        elif field.name in TEXT_FIELDS:
            yield from ([value] if isinstance(value, str) else [v for v in value if isinstance(v, str)])


def figure_texts(spec: dict) -> Iterator[str]:
    """Titles, axis titles, legend names, annotations, tick texts and hover texts of a Plotly figure."""

    def strings(value) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
        elif isinstance(value, dict) and "text" in value:
            yield from strings(value["text"])

    layout = spec.get("layout", {})
    yield from strings(layout.get("title"))
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            yield from strings(axis.get("title"))
            yield from strings(axis.get("ticktext", []))
    yield from strings((layout.get("legend") or {}).get("title"))
    for note in layout.get("annotations", []):
        yield from strings(note.get("text"))
    for trace in spec.get("data", []):
        for key in ("name", "hovertext", "text", "hovertemplate"):
            yield from strings(trace.get(key))
        for key in ("x", "y"):  # categories: the domains, the methods
            values = trace.get(key)
            if isinstance(values, list):
                yield from (v for v in values if isinstance(v, str))
        yield from strings(((trace.get("marker") or {}).get("colorbar") or {}).get("title"))
        yield from strings((trace.get("colorbar") or {}).get("title"))


def frame_texts(df) -> Iterator[str]:
    yield from (str(c) for c in df.columns)
    for column in df.columns:
        yield from (v for v in df[column].tolist() if isinstance(v, str))


def page_texts(at, figures: bool = True) -> Iterator[str]:
    """Every visible text of the page AppTest last ran (``figures=False``: but the Plotly figures')."""

    def walk(node) -> Iterator:
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    for node in walk(at._tree):
        kind = getattr(node, "type", "")
        if kind in SKIP_ELEMENTS or node is at._tree:
            continue
        proto = getattr(node, "proto", None)
        if kind == "plotly_chart":
            yield from figure_texts(json.loads(proto.spec)) if figures else ()
        elif kind in ("arrow_data_frame", "dataframe", "table") and hasattr(node, "value"):
            yield from frame_texts(node.value)
        elif proto is not None and hasattr(proto, "ListFields"):
            if kind == "markdown" and proto.body.lstrip().startswith("<style>"):
                continue  # the page's CSS
            yield from proto_texts(proto)


def english_words(text: str, proper: set[str]) -> list[str]:
    """The English words of ``text`` that are neither allowed nor names (ids, files, layers)."""
    text = re.sub(r"<[^>]+>|%\{[^}]*\}|`[^`]*`", " ", text)  # HTML tags, hover fields, code
    words = []
    for chunk in IDENT.findall(text):
        chunk = chunk.rstrip(".:-/#")
        if chunk in proper or chunk in ALLOWED or re.search(r"[0-9_./:#]", chunk):
            continue
        words += [w for w in chunk.split("-") if len(w) >= 2 and w not in ALLOWED]
    return words


def proper_names(at) -> set[str]:
    """The names the session offers as they are: sample model ids, the base model's layers, architectures."""
    from metalora.adapters import adaptable_modules
    from metalora.models import list_architectures, list_sample_models

    base = at.session_state["model_choice"].frozen()
    names = set(list_sample_models()) | set(list_architectures()) | set(adaptable_modules(base))
    return names | {part for n in names for part in re.split(r"[.]", n)}


def visit(at, page: str) -> None:
    at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def collect(at) -> tuple[dict[str, list[tuple[str, str]]], dict[str, set[str]], dict[str, list[str]]]:
    """``({page: [(word, text)]}, {library source: words met}, {page: every text})`` over every page in
    ``ja``, also with the second input compared on the scaling page and the cluster map coloured by the
    groups found (it opens coloured by kind of input)."""
    proper = proper_names(at)
    library_words = set().union(*LIBRARY_ENGLISH.values())
    english: dict[str, list[tuple[str, str]]] = {}
    library: dict[str, set[str]] = {}
    texts: dict[str, list[str]] = {}
    steps = [(p, None) for p in PAGES] + [("scaling", "compare_two"), ("clusters", "color_by")]
    for page, action in steps:
        visit(at, page)
        if action == "compare_two":
            at.checkbox(key="compare_two").check().run()
        elif action == "color_by":
            radio = next(r for r in at.radio if r.label == STRINGS["color_by"]["ja"])
            radio.set_value(STRINGS["by_cluster"]["ja"]).run()
        assert at.title[-1].value == STRINGS["home_title" if page == "home" else f"page_{page}"]["ja"]
        where = f"{page}{'+' + action if action else ''}"
        own = list(page_texts(at, figures=False))
        figures = [t for c in at.get("plotly_chart") for t in figure_texts(json.loads(c.proto.spec))]
        texts[where] = own + figures
        for text, in_figure in [*((t, False) for t in own), *((t, True) for t in figures)]:
            for word in english_words(text, proper):
                if in_figure and word in library_words:
                    for source, words in LIBRARY_ENGLISH.items():
                        if word in words:
                            library.setdefault(source, set()).add(word)
                    continue
                english.setdefault(where, []).append((word, text[:90]))
    return english, library, texts


@pytest.fixture(scope="module")
def collected(japanese_app):
    return collect(japanese_app)


def test_every_page_in_japanese_has_no_english_word(collected):
    english, _, _ = collected
    assert not english, "English in ja mode:\n" + "\n".join(
        f"{page}: {word!r} in {text!r}" for page, hits in english.items() for word, text in hits
    )


def test_the_walk_sees_the_pages_texts(japanese_app):
    """The collector is not blind: it finds the Japanese texts, a table's headers and a figure's labels."""
    at = japanese_app
    visit(at, "accuracy")
    texts = list(page_texts(at))
    assert STRINGS["col_test_acc"]["ja"] in texts
    assert STRINGS["headline_header"]["ja"] in texts
    assert any("そのまま" in t for t in texts), "the domains are named in Japanese in the figures"
    assert english_words("the clean images", set()) == ["the", "clean", "images"]
    assert english_words("resnet-mini-digits · layer1.0.conv1 · LoRA", {"resnet-mini-digits"}) == []


def test_library_texts_are_japanese(collected):
    """The figures' own texts (titles, axes, legends, hover texts) are Japanese, and the walk saw them."""
    _, library, texts = collected
    assert not LIBRARY_ENGLISH and not library, library
    seen = [t for page in texts.values() for t in page]
    for hover in ("スケーリング係数 0：", "入力 #", "実効ランク", "繰り返し #0", "クラスター 0"):
        assert any(hover in t for t in seen), f"no figure text holds {hover!r}"


def test_every_page_uses_one_word_for_each_idea(collected):
    """No page shows a second form of a glossary word (パラメータ for パラメーター, レイヤー for 層 ...)."""
    from app.glossary import mixed_forms

    _, _, texts = collected
    assert set(texts) >= set(PAGES)
    mixed = {
        (page, form, t[:80])
        for page, page_texts_ in texts.items()
        for t in page_texts_
        for form in mixed_forms(t, "ja")
    }
    assert not mixed, sorted(mixed)
