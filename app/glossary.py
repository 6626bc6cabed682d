"""The glossary: one word for each idea, and what it means in one plain sentence, in English and Japanese.

Its entries are string-table entries (``gloss_<key>`` the word as the pages and charts write it,
``gloss_<key>_means`` its sentence, in :data:`app.strings.STRINGS`). It is drawn folded in the sidebar of
every page (:func:`show`) and appended to the HTML report (:func:`entries`).

:data:`AVOID` lists the other forms a word could take, which no text may use (English "trained parameters"
for "trainable parameters", "domain" for "kind of input"; Japanese パラメータ for パラメーター, レイヤー
for 層, 精度 for 正解率, ドメイン for 入力の種類, ...):
:func:`mixed_forms` finds them, and the tests run it over every string table and over every text the pages
show, so one idea keeps one word everywhere.
"""

from __future__ import annotations

import re

from app.strings import t

#: The glossary's entries, in the order it lists them (each has ``gloss_<key>`` and ``gloss_<key>_means``).
GLOSSARY = (
    "adapter",
    "lora_adapter",
    "metalora_adapter",
    "scaling",
    "tensor",
    "domain",
    "rank",
    "effective_rank",
    "trainable",
    "accuracy",
    "repeat",
    "epoch",
    "cluster",
    "ari",
    "nmi",
    "pca",
    "pareto",
    "flops",
)

#: Forms no text may use, by language: ``{pattern: (the word to use instead, unless)}``; a text that matches
#: ``unless`` may use the form (a random seed may be named where a repeat is explained).
AVOID: dict[str, dict[str, tuple[str, str | None]]] = {
    "en": {
        r"\btrained parameters?\b": ("trainable parameters", None),
        r"\bscaling (?:vectors?|coefficients?|weights?|values)\b": ("scaling factors", None),
        r"\bscale factors?\b|\bknobs?\b": ("scaling factors", None),
        r"\bseeds?\b": ("repeat #", r"\brepeat"),
        r"\bdomains?\b": ("kind of input", r"\(domain(?: shifts)?\)"),
    },
    "ja": {
        r"パラメータ(?!ー)": ("パラメーター", None),
        r"レイヤー": ("層", None),
        r"精度": ("正解率", None),
        r"スケーリング(?!係数)|スケール係数|倍率ベクトル|つまみ": ("スケーリング係数", None),
        r"シード": ("繰り返し #", r"繰り返し"),
        r"ドメイン": ("入力の種類", r"入力の種類（ドメイン"),
    },
}


def mixed_forms(text: str, lang: str) -> list[str]:
    """The forms of :data:`AVOID` that ``text`` uses, as ``"found → use"`` (an empty list when it is clean).

    Placeholders (``{domain}``) are not words: a table's template is checked without them.
    """
    text = re.sub(r"\{[^{}]*\}", " ", text)
    found = []
    for pattern, (use, unless) in AVOID[lang].items():
        if unless and re.search(unless, text, flags=re.IGNORECASE):
            continue
        found += [f"{m.group(0)} → {use}" for m in re.finditer(pattern, text, flags=re.IGNORECASE)]
    return found


def entries(lang: str) -> list[tuple[str, str]]:
    """``(word, sentence)`` of every entry of the glossary in ``lang``."""
    return [(t(f"gloss_{key}", lang), t(f"gloss_{key}_means", lang)) for key in GLOSSARY]


def meaning(key: str, lang: str) -> str:
    """Entry ``key``'s sentence (for a help tooltip where the word is shown)."""
    return t(f"gloss_{key}_means", lang)


#: The key of the glossary's container: the page's CSS (``app.ui.BASE_CSS``) sets its type, small enough
#: for the sidebar's width also in meeting mode.
KEY = "glossary"


def show(lang: str) -> None:
    """The glossary as a folded section (put it in the sidebar)."""
    import streamlit as st

    with st.container(key=KEY), st.expander(t("glossary", lang), expanded=False, icon=":material/menu_book:"):
        lines = (t("glossary_entry", lang, word=word, means=means) for word, means in entries(lang))
        st.markdown("\n".join(f"- {line}" for line in lines))
