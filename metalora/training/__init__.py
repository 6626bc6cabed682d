"""Training: the loop (:func:`fit`, :func:`evaluate`), the methods' preparation, one run end to end
(:func:`train_run`), comparisons over repeats (:func:`compare`), run folders and the run registry.

The demo's settings live in :mod:`metalora.training.demo`.

The names below are imported on first use (PEP 562), as in :mod:`metalora`: ``import
metalora.training.run_registry`` (the dashboard's first page lists the recorded runs) does not load torch.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ComparisonResult": "compare",
    "RunProgress": "compare",
    "compare": "compare",
    "EvalResult": "records",
    "FitResult": "records",
    "Progress": "records",
    "TrainConfig": "records",
    "evaluate": "loop",
    "fit": "loop",
    "peak_memory_bytes": "loop",
    "load_trained": "methods",
    "match_ranks": "methods",
    "prepare": "methods",
    "register_preparer": "methods",
    "save_trained": "methods",
    "RunResult": "run",
    "train_run": "run",
    "read_run_config": "run_folder",
    "RunRegistry": "run_registry",
}

__all__ = [
    "ComparisonResult",
    "EvalResult",
    "FitResult",
    "Progress",
    "RunProgress",
    "RunRegistry",
    "RunResult",
    "TrainConfig",
    "compare",
    "evaluate",
    "fit",
    "load_trained",
    "match_ranks",
    "peak_memory_bytes",
    "prepare",
    "read_run_config",
    "register_preparer",
    "save_trained",
    "train_run",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from .compare import ComparisonResult, RunProgress, compare
    from .loop import evaluate, fit, peak_memory_bytes
    from .methods import load_trained, match_ranks, prepare, register_preparer, save_trained
    from .records import EvalResult, FitResult, Progress, TrainConfig
    from .run import RunResult, train_run
    from .run_folder import read_run_config
    from .run_registry import RunRegistry


class _Package(types.ModuleType):
    """This package: importing a submodule named like one of its functions (``evaluate``, ``compare``)
    must not hide the function, as it did not when the names were imported eagerly."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _EXPORTS:
            return  # the import system naming the submodule: ``metalora.training.evaluate`` stays the function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'metalora.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
