"""Training: a generic supervised loop with progress, cancellation and best-epoch selection."""

from .loop import EvalResult, FitResult, Progress, TrainConfig, evaluate, fit, peak_memory_bytes

__all__ = ["EvalResult", "FitResult", "Progress", "TrainConfig", "evaluate", "fit", "peak_memory_bytes"]
