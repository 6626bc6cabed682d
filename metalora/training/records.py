"""The plain records of a training run: its settings (:class:`TrainConfig`), what it reports while it runs
(:class:`Progress`) and what it returns (:class:`EvalResult`, :class:`FitResult`).

Kept apart from the loop (:mod:`metalora.training.loop`, which re-exports them) so that the loop reads top to
bottom and the records can be imported without it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..device import DEVICE_CHOICES
from ..errors import ConfigError

__all__ = ["EvalResult", "FitResult", "Progress", "TrainConfig"]


# ----------------------------------------------------------------------------- configuration
@dataclass
class TrainConfig:
    """Settings of one training run; invalid values raise :class:`ConfigError` naming the field.

    Attributes
    ----------
    epochs, lr, batch_size, weight_decay
        AdamW with a cosine learning-rate decay from ``lr`` to 0 over all steps.
    seed
        Seeds initialisation-time randomness and the shuffling generator (same seed, same run on CPU).
    device
        ``"auto"`` (CUDA, then MPS, then CPU) or an explicit device.
    bf16
        Use bfloat16 autocast for the forward pass; only applied on CUDA (ignored on CPU).
    max_grad_norm
        Clip the gradient norm to this value; ``None`` disables clipping.
    warmup_frac
        Fraction of the steps with a linear warm-up before the cosine decay (0 = none).
    progress_every
        Report :class:`Progress` every this many steps (``None``: about 10 times per epoch).
    num_workers
        DataLoader worker processes that read a streaming data set
        (:class:`~metalora.data.StreamingDataset`); ``None`` picks
        :func:`~metalora.data.default_num_workers` (0 on a machine of up to 2 CPUs, else
        ``min(4, CPUs - 1)``). Data held in memory is indexed directly and ignores it.
    cache_features
        MetaLoRA only: keep each training image's features (the frozen feature pass that feeds the mapping
        network) after the first epoch, instead of running the backbone for them again every epoch
        (:class:`~metalora.adapters.features.FeatureCache`). Exact: the pass is frozen and in eval mode.
        Skipped when the training images are augmented (they differ every epoch).
    """

    epochs: int = 5
    lr: float = 3e-3
    batch_size: int = 64
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    bf16: bool = True
    max_grad_norm: float | None = None
    warmup_frac: float = 0.0
    progress_every: int | None = None
    num_workers: int | None = None
    cache_features: bool = True

    def __post_init__(self) -> None:
        def bad(name: str, why: str, hint: str) -> ConfigError:
            return ConfigError(f"TrainConfig.{name}={getattr(self, name)!r} {why}.", hint)

        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        def is_num(v: Any) -> bool:
            return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)

        if not is_int(self.epochs) or not 1 <= self.epochs <= 10_000:
            raise bad("epochs", "must be a whole number from 1 to 10000", "E.g. epochs=5.")
        if not is_num(self.lr) or not math.isfinite(self.lr) or not 0 < self.lr <= 10:
            raise bad("lr", "must be a finite number in (0, 10]", "Typical values are 1e-4 to 1e-2.")
        if not is_int(self.batch_size) or not 1 <= self.batch_size <= 1_000_000:
            raise bad("batch_size", "must be a whole number >= 1", "E.g. batch_size=64.")
        if not is_num(self.weight_decay) or not math.isfinite(self.weight_decay) or self.weight_decay < 0:
            raise bad("weight_decay", "must be a finite number >= 0", "Use 0 to disable weight decay.")
        if not is_int(self.seed) or self.seed < 0:
            raise bad("seed", "must be a whole number >= 0", "E.g. seed=0.")
        dev = self.device if isinstance(self.device, str) else str(self.device)
        if dev.split(":")[0].lower() not in DEVICE_CHOICES:
            raise bad("device", "is not a known device", f"Use one of {', '.join(DEVICE_CHOICES)}.")
        if not isinstance(self.bf16, (bool, np.bool_)):
            raise bad("bf16", "must be True or False", "Use bf16=True to allow bfloat16 autocast on CUDA.")
        if not isinstance(self.cache_features, (bool, np.bool_)):
            raise bad("cache_features", "must be True or False", "E.g. cache_features=True.")
        if self.max_grad_norm is not None and (
            not is_num(self.max_grad_norm) or not math.isfinite(self.max_grad_norm) or self.max_grad_norm <= 0
        ):
            raise bad("max_grad_norm", "must be None or a positive number", "E.g. max_grad_norm=1.0.")
        if not is_num(self.warmup_frac) or not 0 <= self.warmup_frac < 1:
            raise bad("warmup_frac", "must be in [0, 1)", "E.g. warmup_frac=0.05, or 0 for no warm-up.")
        if self.progress_every is not None and (not is_int(self.progress_every) or self.progress_every < 1):
            raise bad("progress_every", "must be None or a whole number >= 1", "E.g. progress_every=10.")
        if self.num_workers is not None and (not is_int(self.num_workers) or not 0 <= self.num_workers <= 64):
            raise bad(
                "num_workers", "must be None or a whole number from 0 to 64", "E.g. num_workers=4, or None."
            )

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for model cards and logs)."""
        return asdict(self)


# ----------------------------------------------------------------------------- results
@dataclass
class Progress:
    """A snapshot sent to the callback: where the run is and how it is doing.

    ``loss`` and ``train_acc`` are running means over the current epoch; ``val_acc`` is that of the
    last finished epoch (``None`` before the first one ends). ``step`` counts from 1 within an epoch.
    """

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    train_acc: float
    val_acc: float | None
    samples_per_s: float
    eta_s: float
    elapsed_s: float
    epoch_end: bool = False

    @property
    def fraction(self) -> float:
        """Overall progress in ``[0, 1]`` (for a progress bar)."""
        total = self.epochs * self.steps_per_epoch
        return min(1.0, ((self.epoch - 1) * self.steps_per_epoch + self.step) / max(total, 1))


@dataclass
class EvalResult:
    """Accuracy (a fraction in ``[0, 1]``) and mean cross-entropy, overall and per domain/class."""

    accuracy: float
    loss: float
    per_domain: dict[str, float] = field(default_factory=dict)
    per_class: dict[str, float] = field(default_factory=dict)
    n: int = 0


@dataclass
class FitResult:
    """What :func:`fit` returns; ``history`` holds one dict per epoch."""

    history: list[dict[str, float]]
    best_epoch: int
    val: EvalResult
    test: EvalResult | None
    train_time_s: float
    peak_memory_bytes: int
    device: str
