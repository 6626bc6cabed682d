"""Words in two languages, looked up one way everywhere: the figures' captions and labels, the dashboard's
strings and the glossary all go through :func:`text`.

The rule is the same for every table: a key that is missing, or a language missing from an entry, is a
bug and raises :class:`KeyError` naming it (the tests check that every entry has both languages and the
same placeholders). Placeholders (``{layer}``) are filled from ``fields``; a field may be a plain value
(the same in both languages) or a ``{"en": ..., "ja": ...}`` dict.

Display names are the one exception to the rule: :func:`display_name` (and :func:`domain_name`, over
:data:`DOMAIN_NAMES`) give a name the table has no entry for as it is, since such names come from the user
(a domain registered outside the library, a data set's own domain names) and are proper names. So do the
names of layers for people (:func:`layer_name`, :func:`layer_names`, :func:`layer_label`: ``stages.1.0.conv2``
-> "Stage 2 · block 1 · conv 2"), made by rules from the module path, which keep a word they do not know
as the code writes it.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping

from .errors import ConfigError

__all__ = [
    "DOMAIN_NAMES",
    "LANGUAGES",
    "LAYER_WORDS",
    "check_lang",
    "display_name",
    "domain_name",
    "layer_label",
    "layer_name",
    "layer_names",
    "placeholders",
    "text",
]

LANGUAGES: dict[str, str] = {"en": "English", "ja": "日本語"}
"""The languages, with their names as a language picker shows them."""


def check_lang(lang: str) -> str:
    """``lang`` if supported, else :class:`~metalora.errors.ConfigError` naming the supported ones."""
    if lang not in LANGUAGES:
        raise ConfigError(f"lang={lang!r} is not supported.", f"Use one of {', '.join(LANGUAGES)}.")
    return lang


def placeholders(template: str) -> set[str]:
    """The ``{field}`` names used in ``template``."""
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def text(table: Mapping[str, Mapping[str, str]], key: str, lang: str, **fields) -> str:
    """Entry ``key`` of ``table`` in ``lang``, with its placeholders filled from ``fields``."""
    entry = table.get(key)
    if entry is None:
        raise KeyError(f"no text for {key!r}")
    template = entry.get(check_lang(lang))
    if template is None:
        raise KeyError(f"no {lang!r} text for {key!r}")
    if not fields:
        return template
    values = {k: (v.get(lang, v.get("en")) if isinstance(v, Mapping) else v) for k, v in fields.items()}
    return template.format(**values)


#: Display names of the library's domain ids (:data:`metalora.data.DOMAINS`), for the figures, the report
#: and the dashboard (``app.strings`` re-uses this table). A domain registered outside the library has no
#: entry and keeps its id.
DOMAIN_NAMES: dict[str, dict[str, str]] = {
    "clean": {"en": "clean", "ja": "そのまま"},
    "inverted": {"en": "inverted", "ja": "反転"},
    "rotate90": {"en": "rotated 90°", "ja": "90° 回転"},
    "rotate180": {"en": "rotated 180°", "ja": "180° 回転"},
    "mirror": {"en": "mirrored", "ja": "鏡像"},
    "noise": {"en": "noisy", "ja": "ノイズ"},
    "blur": {"en": "blurred", "ja": "ぼかし"},
    "low_contrast": {"en": "low contrast", "ja": "低コントラスト"},
    "occlusion": {"en": "partly hidden", "ja": "一部を隠す"},
    "bg_noise": {"en": "noisy background", "ja": "ノイズの背景"},
    "bg_stripes": {"en": "striped background", "ja": "縞模様の背景"},
    "palette_cool": {"en": "cool colours", "ja": "寒色"},
    "palette_warm": {"en": "warm colours", "ja": "暖色"},
}


def display_name(table: Mapping[str, Mapping[str, str]], key: str, lang: str) -> str:
    """``key``'s display name in ``lang`` from a table of display names; ``key`` itself when the table has
    no entry (a name registered outside the library); ``KeyError`` for a language the entry lacks."""
    entry = table.get(str(key))
    return str(key) if entry is None else text(table, str(key), lang)


def domain_name(domain: str, lang: str) -> str:
    """The display name of a domain id in ``lang`` (``"rotate90"`` -> ``"90° 回転"``).

    A composed id (``"rotate90+noise"``, see :func:`metalora.data.parse_domain`) is named part by part
    (``"90° 回転 + ノイズ"``) when every part is a library domain; any other name, such as a domain
    registered outside the library, is kept as it is. A display name given again is returned unchanged, so
    names translated once (by a dashboard) pass through a figure as they are.
    """
    name = str(domain)
    if name in DOMAIN_NAMES:
        return text(DOMAIN_NAMES, name, lang)
    parts = [p.strip() for p in name.split("+")]
    if len(parts) > 1 and all(p in DOMAIN_NAMES for p in parts):
        return " + ".join(text(DOMAIN_NAMES, p, lang) for p in parts)
    check_lang(lang)
    return name


# -- layer names -----------------------------------------------------------------------------------------

#: The plain names of the words of PyTorch module paths (:func:`layer_name`), by role: ``part.*`` a numbered
#: container (``stages.1`` -> "Stage 2"), ``inner.*`` a number inside one (``stages.1.0`` -> "... · block 1"),
#: the others a named part of a model. Every word has both languages; abbreviations (MLP, QKV) stay as they are,
#: and an English name gets its capital at the start only ("Stage 2 · block 1 · shortcut").
LAYER_WORDS: dict[str, dict[str, str]] = {
    "part.stage": {"en": "stage", "ja": "ステージ"},
    "part.block": {"en": "block", "ja": "ブロック"},
    "part.layer": {"en": "layer", "ja": "層"},
    "part.part": {"en": "part", "ja": "部分"},
    "inner.block": {"en": "block", "ja": "ブロック"},
    "inner.layer": {"en": "layer", "ja": "層"},
    "stem": {"en": "stem", "ja": "ステム"},
    "shortcut": {"en": "shortcut", "ja": "ショートカット"},
    "downsampling": {"en": "downsampling", "ja": "ダウンサンプリング"},
    "attention": {"en": "attention", "ja": "注意機構"},
    "qkv": {"en": "QKV", "ja": "QKV"},
    "query": {"en": "query", "ja": "クエリ"},
    "key": {"en": "key", "ja": "キー"},
    "value": {"en": "value", "ja": "バリュー"},
    "projection": {"en": "projection", "ja": "射影"},
    "out_projection": {"en": "output projection", "ja": "出力射影"},
    "mlp": {"en": "MLP", "ja": "MLP"},
    "token_mlp": {"en": "token MLP", "ja": "トークン MLP"},
    "channel_mlp": {"en": "channel MLP", "ja": "チャンネル MLP"},
    "patch_embed": {"en": "patch embedding", "ja": "パッチ埋め込み"},
    "conv": {"en": "conv", "ja": "畳み込み"},
    "dense": {"en": "dense", "ja": "全結合"},
    "output": {"en": "output layer", "ja": "出力層"},
    "encoder": {"en": "encoder", "ja": "エンコーダー"},
    "decoder": {"en": "decoder", "ja": "デコーダー"},
    "backbone": {"en": "backbone", "ja": "バックボーン"},
}

#: The words of module paths that :data:`LAYER_WORDS` names, by how PyTorch models spell them.
_WORDS = {
    "stem": "stem",
    "conv_stem": "stem",
    "shortcut": "shortcut",
    "downsample": "downsampling",  # "shortcut" inside a block (torchvision's ResNet), see layer_name
    "attn": "attention",
    "attention": "attention",
    "self_attn": "attention",
    "qkv": "qkv",
    "query": "query",
    "key": "key",
    "value": "value",
    "proj": "projection",
    "out_proj": "out_projection",
    "mlp": "mlp",
    "ffn": "mlp",
    "token_mlp": "token_mlp",
    "channel_mlp": "channel_mlp",
    "patch_embed": "patch_embed",
    "conv": "conv",
    "fc": "dense",
    "linear": "dense",
    "dense": "dense",
    "head": "output",
    "classifier": "output",
    "encoder": "encoder",
    "decoder": "decoder",
    "backbone": "backbone",
}
#: Containers whose children are numbered parts (``stages.1`` -> "Stage 2"; ``layer2`` -> "Layer 2").
_CONTAINERS = {
    "stages": "stage",
    "stage": "stage",
    "blocks": "block",
    "layers": "layer",
    "layer": "layer",
    "features": "part",
}
_NUMBERED = re.compile(r"([A-Za-z](?:[A-Za-z_]*[A-Za-z])?)_?(\d+)")
_SEP = {"en": " · ", "ja": "・"}  # ja: the full-width dot that Japanese run labels use too


def _word(key: str, lang: str, n: int | str | None = None) -> str:
    word = LAYER_WORDS[key][lang]
    return word if n is None else f"{word} {n}"


def _tokens(name: str) -> list[str]:
    return [t for t in name.split(".") if t]


def _siblings(names: Iterable[str]) -> dict[tuple[str, ...], set[str]]:
    """``{path prefix: the indices that follow it}`` over ``names`` (to tell a lone index from a list)."""
    out: dict[tuple[str, ...], set[str]] = {}
    for name in names:
        parts = _tokens(str(name))
        for k, token in enumerate(parts):
            if token.isdigit():
                out.setdefault(tuple(parts[:k]), set()).add(token)
    return out


def _lone(tokens: list[str], k: int, siblings: Mapping[tuple[str, ...], set[str]] | None) -> bool:
    """Whether index ``tokens[k]`` is the last token and the only index there: the only one that follows
    ``tokens[:k]`` in ``siblings``, or (without them) 0."""
    if k != len(tokens) - 1:
        return False
    if siblings is None:
        return tokens[k] == "0"
    return not siblings.get(tuple(tokens[:k]), set()) - {tokens[k]}


def _layer_name(name: str, lang: str, siblings: Mapping[tuple[str, ...], set[str]] | None) -> str:
    tokens = _tokens(name)
    parts: list[tuple[str, bool]] = []  # (text, a plain word rather than the code's own identifier)
    last = (
        None  # what the previous token made: "part" (a numbered container), "inner" (a number in one), "word"
    )
    k = 0
    while k < len(tokens):
        token = tokens[k]
        index = tokens[k + 1] if k + 1 < len(tokens) and tokens[k + 1].isdigit() else None
        if token.isdigit():  # an index no container took
            if last == "part":  # a block inside a stage
                parts.append((_word("inner.block", lang, int(token) + 1), True))
            elif not (parts and _lone(tokens, k, siblings)):  # a layer of a Sequential (not a lone last one)
                parts.append((_word("inner.layer" if parts else "part.layer", lang, int(token) + 1), True))
            last = "inner"
            k += 1
            continue
        if token == "block" and last == "inner" and index is not None:  # a block's own list of layers
            if not _lone(tokens, k + 1, siblings):
                parts.append((_word("inner.layer", lang, int(index) + 1), True))
            k += 2
            continue
        numbered = _NUMBERED.fullmatch(token)
        if token in _CONTAINERS and index is not None:  # stages.1 -> Stage 2
            parts.append((_word(f"part.{_CONTAINERS[token]}", lang, int(index) + 1), True))
            last, k = "part", k + 2
            continue
        if numbered and numbered[1].lower() in {"stage", "block", "layer"}:  # layer2 -> Layer 2 (as written)
            parts.append((_word(f"part.{numbered[1].lower()}", lang, int(numbered[2])), True))
            last, k = "part", k + 1
            continue
        if token in _WORDS:
            key = _WORDS[token]
            if token == "fc" and k == 0:  # the model's own fc: its last layer
                key = "output"
            elif key == "downsampling" and last == "inner":  # torchvision's ResNet: a block's shortcut
                key = "shortcut"
            text, plain = _word(key, lang), True
        elif numbered and numbered[1].lower() in _WORDS:  # conv2 -> conv 2, fc1 -> dense 1
            text, plain = _word(_WORDS[numbered[1].lower()], lang, int(numbered[2])), True
        else:  # a word the table does not know: the code's own name, as it is
            text, plain = token, False
        k += 1
        if index is not None:  # the children of a Sequential (shortcut.0, stem.0, foo_bar.3)
            if not _lone(tokens, k, siblings):
                if text[-1].isdigit():  # conv1.3: a layer inside conv 1
                    parts.append((text, plain))
                    text = _word("inner.layer", lang, int(index) + 1)
                else:
                    text = f"{text} {int(index) + 1}"
            k += 1
        parts.append((text, plain))
        last = "word"
    if lang == "en" and parts and parts[0][1]:
        parts[0] = (parts[0][0][:1].upper() + parts[0][0][1:], True)
    return _SEP[lang].join(text for text, _ in parts) or name


def layer_name(name: str, lang: str = "en", names: Iterable[str] | None = None) -> str:
    """The name of a layer for people, from its PyTorch module path, in ``lang``:
    ``"stages.1.0.conv2"`` -> ``"Stage 2 · block 1 · conv 2"`` (ja ``"ステージ 2・ブロック 1・畳み込み 2"``).

    The rules, generic over module paths (people count from 1, so an index of the code shows plus one):

    - a container followed by an index is a numbered part: ``stages.1`` -> "Stage 2", ``blocks.3`` ->
      "Block 4", ``layers.0`` -> "Layer 1", ``features.5`` -> "Part 6"; so is a container word with digits,
      numbered as written (torchvision's ``layer2`` -> "Layer 2");
    - an index after a numbered part is a block inside it (``stages.1.0`` -> "Stage 2 · block 1"); any other
      index no word takes is a layer (``0`` of a plain Sequential -> "Layer 1"), and so is the index of a
      block's own list of layers (torchvision's ``features.3.0.block.1.0`` -> "Part 4 · block 1 · layer 2");
    - known words get plain names (:data:`LAYER_WORDS`): stem, shortcut (and ``downsample`` inside a block),
      attn, qkv, proj, mlp, token_mlp, channel_mlp, patch_embed, conv, the model's own ``fc``, ``head`` and
      ``classifier`` ("Output layer"), an ``fc`` inside the model ("dense"); a known word with digits is split
      (``conv2`` -> "conv 2", ``fc1`` -> "dense 1");
    - an index after a word numbers that word (``stem.1`` -> "Stem 2"), but a trailing index inside a
      Sequential that is the only one there is dropped (``shortcut.0`` -> "Shortcut", ``stem.0`` -> "Stem"):
      given ``names`` (every layer of the model), when no other layer has another index there; without
      them, when it is 0 (so ``stem.0`` and ``stem.1`` still differ: "Stem", "Stem 2"). An index after a
      numbered part is never dropped;
    - a word the table does not know is kept as the code writes it (``foo_bar.3`` -> "foo_bar 4").

    The parts are joined by ``" · "`` (ja ``"・"``); an English name starts with a capital. It never
    raises for a name; :class:`~metalora.errors.ConfigError` for an unsupported ``lang``. Distinct paths
    of one model give distinct names in practice; :func:`layer_names` guarantees it.
    """
    check_lang(lang)
    name = str(name)
    if not name:
        return name
    return _layer_name(name, lang, None if names is None else _siblings(names))


def layer_names(names: Iterable[str], lang: str = "en") -> dict[str, str]:
    """``{module path: name for people}`` of every layer of a model (:func:`layer_name`, with the others as
    its siblings), distinct for distinct paths: a name two paths would share is replaced by the code name of
    each (which is unique)."""
    check_lang(lang)
    names = [str(n) for n in dict.fromkeys(names)]
    siblings = _siblings(names)
    shown = {n: _layer_name(n, lang, siblings) if n else n for n in names}
    while True:
        counts = Counter(shown.values())
        clash = [n for n, s in shown.items() if counts[s] > 1 and s != n]
        if not clash:
            return shown
        shown |= {n: n for n in clash}


def layer_label(
    name: str, lang: str = "en", names: Iterable[str] | None = None, shown: str | None = None
) -> str:
    """A layer's name for people with its code name, for hover texts and tooltips:
    ``"Stage 2 · block 1 · conv 2 (stages.1.0.conv2)"`` (ja ``"...（stages.1.0.conv2）"``); the code name alone
    when the two are the same. ``shown`` is the name for people when the caller has it (default
    ``layer_names(names)[name]`` with ``names``, else :func:`layer_name`)."""
    check_lang(lang)
    name = str(name)
    if shown is None:
        shown = layer_names([*names, name], lang)[name] if names is not None else layer_name(name, lang)
    if shown == name:
        return name
    return f"{shown}（{name}）" if lang == "ja" else f"{shown} ({name})"
