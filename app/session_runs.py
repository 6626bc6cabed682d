"""The runs of this session and the one function that trains one run.

:func:`train_one` is the single place the dashboard turns (base model, data, settings) into a
trained run: it calls :func:`metalora.training.run.train_run`, which measures the run, saves
what it trained into a run folder and records it in the SQLite run registry. A :class:`RunRecord`
keeps the trained model in the user's session (never in a shared cache) with what the views need;
its analyses are asked for through :func:`app.views.analysis`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from torch import nn

from app.strings import t
from metalora.data import DataSpec, DataSplits
from metalora.methods import get_method
from metalora.training import Progress, TrainConfig
from metalora.training.demo import DEMO_RANK, DEMO_TRAIN_CONFIG
from metalora.training.run import RunResult, train_run
from metalora.training.run_registry import RunRegistry

if TYPE_CHECKING:
    from metalora.analysis import RunAnalysis

__all__ = ["ROW_COLUMNS", "RunRecord", "TrainTask", "train_one"]

#: The columns of :meth:`RunRecord.row` (each has its ``col_`` string).
ROW_COLUMNS = (
    "run", "method", "rank", "seed", "epochs", "model", "data", "test_acc", "trainable_params", "flops",
    "train_time_s", "device",
)  # fmt: skip


@dataclass
class TrainTask:
    """One run to train: the method and its settings."""

    method: str
    rank: int = DEMO_RANK
    targets: str | tuple[str, ...] = "all"
    train: TrainConfig = field(default_factory=lambda: DEMO_TRAIN_CONFIG)

    def label(self, lang: str) -> str:
        """``"MetaLoRA (Tensor Ring) · rank 4 · repeat #0"`` in ``lang`` (no rank without adapters)."""
        method = get_method(self.method)
        if method.is_adapter:
            return t("run_label", lang, method=method.label(lang), rank=self.rank, repeat=self.train.seed)
        return t("run_label_unranked", lang, method=method.label(lang), repeat=self.train.seed)


@dataclass(eq=False)
class RunRecord:
    """A finished run of this session: the library's :class:`RunResult` plus what the views need."""

    id: int
    task: TrainTask
    result: RunResult
    splits: DataSplits
    model_label: str
    data_label: str
    created: float = field(default_factory=time.time)
    analysis_memo: RunAnalysis | None = field(default=None, repr=False)  # held for app.views.analysis

    @property
    def model(self) -> nn.Module:
        return self.result.model

    @property
    def method(self) -> str:
        return self.task.method

    def name(self, lang: str) -> str:
        """``"#12 MetaLoRA (Tensor Ring) · rank 4 · repeat #0"`` in ``lang``."""
        return f"#{self.id} {self.task.label(lang)}"

    @property
    def has_scaling(self) -> bool:
        """CP / TR / MetaLoRA runs have a core (scaling factors) per layer; LoRA and the baselines do not."""
        return get_method(self.method).has_core

    @property
    def has_adapters(self) -> bool:
        return get_method(self.method).is_adapter

    def row(self, lang: str) -> dict[str, Any]:
        """One row of the runs table with :data:`ROW_COLUMNS` (plain values, for a DataFrame or CSV)."""
        r = self.result
        return {
            "run": self.id,
            "method": get_method(self.method).label(lang),
            "rank": r.rank,
            "seed": r.seed,
            "epochs": self.task.train.epochs,
            "model": self.model_label,
            "data": self.data_label,
            "test_acc": round(100 * r.accuracy, 1),
            "trainable_params": r.trainable_params,
            "flops": r.flops,
            "train_time_s": round(r.train_time_s, 2),
            "device": r.device,
        }


def train_one(
    base: nn.Module,
    data: DataSplits | DataSpec,
    task: TrainTask,
    *,
    model_label: str,
    data_label: str,
    registry: RunRegistry | None = None,
    callback: Callable[[Progress], None] | None = None,
    cancel_event: threading.Event | None = None,
) -> RunRecord:
    """Train ``task`` on a copy of ``base`` (the library copies it), record it, return the finished run."""
    splits = data.load() if isinstance(data, DataSpec) else data
    result = train_run(
        base,
        data,
        task.method,
        task.train,
        rank=int(task.rank),
        target_modules=task.targets,
        registry=registry,
        callback=callback,
        cancel_event=cancel_event,
        model_name=model_label,
    )
    result.model.cpu().eval()
    return RunRecord(
        id=int(result.id) if result.id is not None else _local_id(),
        task=task,
        result=result,
        splits=splits,
        model_label=model_label,
        data_label=data_label,
    )


_local = iter(range(1_000_000, 2_000_000))


def _local_id() -> int:
    """An id for a run that was not recorded in a registry."""
    return next(_local)
