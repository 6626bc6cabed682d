"""The runs of this session and the one function that trains one run.

:func:`train_one` is the single place the dashboard turns (base model, data, settings) into a
trained adapter. It calls :func:`metalora.fit` directly; when the library's run registry and
comparison runner land, only this module changes. A :class:`RunRecord` keeps the trained model in
the user's session (never in a shared cache) together with what the analysis pages need.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from metalora import MetaLoRAConfig, get_model
from metalora.config import METHOD_LABELS
from metalora.data import DataSplits
from metalora.errors import DataError
from metalora.training import FitResult, Progress, TrainConfig, fit

_ids = itertools.count(1)
_ids_lock = threading.Lock()

#: Demo settings, used until ``metalora.training.runner.DEMO_TRAIN_CONFIG`` exists.
DEMO_EPOCHS = 3
DEMO_METHODS = ("lora", "meta-tr")
DEMO_RANK = 4


@dataclass
class TrainTask:
    """One run to train: the adapter settings and the training settings."""

    method: str
    rank: int = 4
    targets: str | tuple[str, ...] = "all"
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def label(self) -> str:
        return f"{METHOD_LABELS.get(self.method, self.method)} · r={self.rank} · seed {self.train.seed}"


@dataclass(eq=False)
class RunRecord:
    """A finished run of this session, with its model for the analysis pages."""

    id: int
    task: TrainTask
    model: Any  # MetaLoRAModel, in eval mode
    result: FitResult
    splits: DataSplits
    model_label: str
    data_label: str
    trainable: int
    total: int
    created: float = field(default_factory=time.time)
    cache: dict = field(default_factory=dict)  # analysis results computed on demand, per run

    @property
    def method(self) -> str:
        return self.task.method

    @property
    def name(self) -> str:
        return f"#{self.id} {self.task.label}"

    def row(self) -> dict[str, Any]:
        """One row of the runs table (plain values, for a DataFrame or CSV)."""
        test = self.result.test
        return {
            "run": self.id,
            "method": METHOD_LABELS.get(self.method, self.method),
            "rank": self.task.rank,
            "seed": self.task.train.seed,
            "epochs": self.task.train.epochs,
            "model": self.model_label,
            "data": self.data_label,
            "val_acc": round(self.result.val.accuracy, 4) if self.result.val else None,
            "test_acc": round(test.accuracy, 4) if test else None,
            "trainable_params": self.trainable,
            "train_time_s": round(self.result.train_time_s, 2),
            "device": self.result.device,
        }


def check_compatible(base: nn.Module, splits: DataSplits) -> None:
    """Refuse data whose channels or classes do not fit the model, with a message that says what to do."""
    kwargs = getattr(base, "arch_kwargs", {}) or {}
    channels, classes = kwargs.get("in_channels"), kwargs.get("num_classes")
    if channels is not None and channels != splits.train.channels:
        raise DataError(
            f"The model reads {channels}-channel images but the data has {splits.train.channels}.",
            "Pick a data set with the same number of colour channels as the model, or another model.",
        )
    if classes is not None and classes != splits.train.num_classes:
        raise DataError(
            f"The model predicts {classes} classes but the data has {splits.train.num_classes}.",
            "Pick a data set with as many classes as the model, or another model.",
        )
    size = kwargs.get("image_size")
    if size is not None and tuple(splits.train.image_size) != (size, size):
        raise DataError(
            f"The model reads {size}x{size} images but the data has {splits.train.image_size}.",
            f"Load the data at {size}x{size} pixels.",
        )


def train_one(
    base: nn.Module,
    splits: DataSplits,
    task: TrainTask,
    *,
    model_label: str,
    data_label: str,
    callback: Callable[[Progress], None] | None = None,
    cancel_event: threading.Event | None = None,
) -> RunRecord:
    """Wrap a fresh copy of ``base`` with adapters, train it, and return the finished run.

    ``base`` is changed in place (adapters are inserted), so pass a copy you own.
    """
    check_compatible(base, splits)
    config = MetaLoRAConfig(method=task.method, rank=int(task.rank), target_modules=task.targets)
    model = get_model(base, config)
    result = fit(model, splits, task.train, callback=callback, cancel_event=cancel_event)
    model.cpu().eval()
    trainable, total = model.count_parameters()
    with _ids_lock:
        run_id = next(_ids)
    return RunRecord(
        id=run_id,
        task=task,
        model=model,
        result=result,
        splits=splits,
        model_label=model_label,
        data_label=data_label,
        trainable=trainable,
        total=total,
    )
