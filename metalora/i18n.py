"""Words in two languages, looked up one way everywhere: the figures' captions and labels, the dashboard's
strings and the glossary all go through :func:`text`.

The rule is the same for every table: a key that is missing, or a language missing from an entry, is a
bug and raises :class:`KeyError` naming it (the tests check that every entry has both languages and the
same placeholders). Placeholders (``{layer}``) are filled from ``fields``; a field may be a plain value
(the same in both languages) or a ``{"en": ..., "ja": ...}`` dict.

Display names are the one exception to the rule: :func:`display_name` (and :func:`domain_name`, over
:data:`DOMAIN_NAMES`) give a name the table has no entry for as it is, since such names come from the user
(a domain registered outside the library, a data set's own domain names) and are proper names.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from .errors import ConfigError

__all__ = ["DOMAIN_NAMES", "LANGUAGES", "check_lang", "display_name", "domain_name", "placeholders", "text"]

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
