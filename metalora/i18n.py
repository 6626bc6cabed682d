"""Words in two languages, looked up one way everywhere: the figures' captions and labels, the dashboard's
strings and the glossary all go through :func:`text`.

The rule is the same for every table: a key that is missing, or a language missing from an entry, is a
bug and raises :class:`KeyError` naming it (the tests check that every entry has both languages and the
same placeholders). Placeholders (``{layer}``) are filled from ``fields``; a field may be a plain value
(the same in both languages) or a ``{"en": ..., "ja": ...}`` dict.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from .errors import ConfigError

__all__ = ["LANGUAGES", "check_lang", "placeholders", "text"]

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
