"""Names of a package imported on first use (PEP 562), for :mod:`metalora` and :mod:`metalora.training`.

``import metalora.i18n`` or ``import metalora.training.run_registry`` then loads no torch: the dashboard's
first page renders before it does.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any


class _Package(types.ModuleType):
    """A package whose submodule named like one of its exported functions (``metalora.training.evaluate``)
    must not hide the function once that submodule is imported, as it did not when names were eager."""

    _lazy_exports: Mapping[str, str] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in self._lazy_exports:
            return  # the import system naming the submodule: the exported name stays what it exports
        super().__setattr__(name, value)


def lazy_exports(
    package: str, exports: Mapping[str, str], names: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each of ``exports`` (``{name: submodule}``) is imported
    from its submodule when first used and kept; ``names`` is what ``dir()`` lists (the ``__all__``)."""
    module = sys.modules[package]
    module.__class__ = _Package
    module._lazy_exports = exports

    def __getattr__(name: str) -> Any:
        source = exports.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{source}", package), name)
        vars(module)[name] = value
        return value

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__
