"""Training: the loop (:func:`fit`, :func:`evaluate`), the methods' preparation, one run end to end
(:func:`train_run`), comparisons over repeats (:func:`compare`), run folders and the run registry.

The demo's settings live in :mod:`metalora.training.demo`.

The names below are imported on first use (PEP 562), as in :mod:`metalora`: ``import
metalora.training.run_registry`` (the dashboard's first page lists the recorded runs) does not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
