"""Training: a generic supervised loop with progress, cancellation and best-epoch selection."""

from .loop import EvalResult, FitResult, Progress, TrainConfig, evaluate, fit, peak_memory_bytes

__all__ = ["EvalResult", "FitResult", "Progress", "TrainConfig", "evaluate", "fit", "peak_memory_bytes"]

# The training engine around fit: methods, runs, comparisons, the run registry (issue 4).
from .methods import ALL_METHODS, load_trained, match_ranks, prepare, save_trained
from .registry import RunRegistry
from .runner import (
    DEMO_DATA,
    DEMO_METHOD,
    DEMO_MODEL,
    DEMO_RANK,
    DEMO_TRAIN_CONFIG,
    ComparisonResult,
    DataSpec,
    RunResult,
    compare,
    train_run,
)

__all__ += [
    "ALL_METHODS",
    "DEMO_DATA",
    "DEMO_METHOD",
    "DEMO_MODEL",
    "DEMO_RANK",
    "DEMO_TRAIN_CONFIG",
    "ComparisonResult",
    "DataSpec",
    "RunRegistry",
    "RunResult",
    "compare",
    "load_trained",
    "match_ranks",
    "prepare",
    "save_trained",
    "train_run",
]
