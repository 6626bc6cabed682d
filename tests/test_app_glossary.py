"""One vocabulary: the glossary's words are the ones the pages and charts use, and no text uses another form.

Every string table of the project is checked (the dashboard's, the figures' captions, labels and terms, the
display names, the methods' labels) with :func:`app.glossary.mixed_forms`; the Japanese walk of every page
(``tests/test_app_japanese.py``) runs the same check over every text the pages show.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app import glossary
from app.strings import DOMAIN_NAMES, LAYER_TYPES, SPLIT_NAMES, STRINGS
from metalora.figures.captions import CAPTIONS, LABELS, TERMS
from metalora.i18n import LANGUAGES
from metalora.methods import list_methods
from tests.app_support import MAIN

TABLES = {
    "app/strings.py STRINGS": STRINGS,
    "app/strings.py DOMAIN_NAMES": DOMAIN_NAMES,
    "app/strings.py SPLIT_NAMES": SPLIT_NAMES,
    "app/strings.py LAYER_TYPES": LAYER_TYPES,
    "metalora/figures/captions.py CAPTIONS": CAPTIONS,
    "metalora/figures/captions.py LABELS": LABELS,
    "metalora/figures/captions.py TERMS": TERMS,
    "metalora/methods.py labels": {m.id: m.labels for m in list_methods()},
}


def word(key: str, lang: str) -> str:
    return STRINGS[f"gloss_{key}"][lang]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entry_is_a_word_and_one_sentence(lang):
    entries = glossary.entries(lang)
    assert len(entries) == len(glossary.GLOSSARY) == len(set(glossary.GLOSSARY))
    for key, (term, means) in zip(glossary.GLOSSARY, entries, strict=True):
        assert term.strip() and means.strip(), key
        if lang == "en":
            assert means.endswith(".") and ". " not in means, f"{key}: one sentence: {means}"
        else:
            assert means.endswith("。") and means.count("。") == 1, f"{key}: one sentence: {means}"
    assert len(set(glossary.GLOSSARY)) >= 15


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_glossary_words_are_the_words_the_pages_and_charts_use(lang):
    def s(key: str) -> str:
        return STRINGS[key][lang]

    assert word("scaling", lang) == s("page_scaling") == s("node_scaling").split("（")[0].split(" (")[0]
    assert word("repeat", lang) == s("repeat") == s("col_seed")
    assert word("trainable", lang) == s("headline_params") == s("cost_trainable") == s("col_trainable_params")
    assert word("accuracy", lang).lower() == s("accuracy").lower()
    assert word("accuracy", lang).lower() in s("col_test_acc").lower()
    assert word("rank", lang) == s("col_rank") and word("epoch", lang).lower() == s("epoch").lower()
    assert s("by_domain") in word("domain", lang) and s("by_cluster") in word("cluster", lang)
    assert word("effective_rank", lang) == LABELS["legend.effective"][lang]
    assert word("pareto", lang) == LABELS["legend.pareto"][lang]
    assert TERMS["domain"][lang].lower() == s("by_domain").lower()  # the charts say what the pages say
    assert (
        "ARI" in word("ari", lang) and "ARI" in s("ari") and "NMI" in word("nmi", lang) and "NMI" in s("nmi")
    )
    assert "PCA" in word("pca", lang) and word("flops", lang) == "FLOPs"


@pytest.mark.parametrize("name", list(TABLES))
def test_no_table_mixes_two_forms_of_a_word(name):
    mixed = [
        (key, lang, form)
        for key, entry in TABLES[name].items()
        for lang in LANGUAGES
        if lang in entry
        for form in glossary.mixed_forms(entry[lang], lang)
    ]
    assert not mixed, f"{name}: {mixed}"


@pytest.mark.parametrize(
    ("text", "lang", "found"),
    [
        ("学習するパラメータ数", "ja", "パラメータ → パラメーター"),
        ("各レイヤーの更新", "ja", "レイヤー → 層"),
        ("ドメインごとの精度", "ja", "精度 → 正解率"),
        ("ドメインごとの正解率", "ja", "ドメイン → 入力の種類"),
        ("スケーリングベクトル", "ja", "スケーリング → スケーリング係数"),
        ("シード 3", "ja", "シード → 繰り返し #"),
        ("Trained parameters", "en", "Trained parameters → trainable parameters"),
        ("the scaling vector of a layer", "en", "scaling vector → scaling factors"),
        ("accuracy per domain", "en", "domain → kind of input"),
        ("seed 3", "en", "seed → repeat #"),
    ],
)
def test_the_check_finds_a_second_form(text, lang, found):
    assert found in glossary.mixed_forms(text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("学習するパラメーター数", "ja"),
        ("繰り返し #2（乱数シードだけを変えた学習）", "ja"),  # a seed named where a repeat is explained
        ("入力の種類（ドメイン）", "ja"),
        ("Repeat #: the same training with another random seed", "en"),
        ("Kinds of input (domain shifts)", "en"),
        ("input #{index} · {domain}", "en"),  # a placeholder is not a word
    ],
)
def test_the_check_accepts_the_one_form(text, lang):
    assert glossary.mixed_forms(text, lang) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_glossary_is_folded_in_the_sidebar_of_every_page(lang):
    at = AppTest.from_file(str(MAIN), default_timeout=60).run()
    at.sidebar.selectbox[0].set_value(lang).run()
    for page in ("home", "scaling", "accuracy"):
        if page != "home":
            at.switch_page(f"../pages/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        (box,) = [e for e in at.sidebar.expander if e.label == STRINGS["glossary"][lang]]
        assert not box.proto.expanded, "folded until opened"
        text = "\n".join(m.value for m in box.markdown)
        for term, means in glossary.entries(lang):
            assert STRINGS["glossary_entry"][lang].format(word=term, means=means) in text
