"""Training: the loop (:func:`fit`, :func:`evaluate`), the methods' preparation, one run end to end
(:func:`train_run`), comparisons over repeats (:func:`compare`), run folders and the run registry.

The demo's settings live in :mod:`metalora.training.demo`.
"""

from .compare import ComparisonResult, RunProgress, compare
from .loop import EvalResult, FitResult, Progress, TrainConfig, evaluate, fit, peak_memory_bytes
from .methods import load_trained, match_ranks, prepare, register_preparer, save_trained
from .run import RunResult, train_run
from .run_folder import read_run_config
from .run_registry import RunRegistry

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
