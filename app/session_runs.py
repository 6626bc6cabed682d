"""A run as the dashboard holds it, and the one function that trains one run.

:func:`train_one` is the single place the dashboard turns (base model, data, settings) into a
trained run: it calls :func:`metalora.training.run.train_run`, which measures the run, saves
what it trained into a run folder and records it in the SQLite run registry. A :class:`RunRecord`
keeps the trained model in the user's session (never in a shared cache) with what the views need;
its analyses are asked for through :func:`app.views.analysis`.

A run read back from the registry (another session's, or this one's after a reload or a server restart)
is a :class:`RunRecord` without its model and data: the first look at :attr:`RunRecord.model` or
:attr:`RunRecord.splits` rebuilds them from the run's folder (:func:`app.recorded.rebuild`), once, and the
session keeps the result. Tables and pickers read only the recorded facts and never rebuild.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from torch import nn

from app.strings import t
from metalora.data import DataSpec, DataSplits, StreamSpec
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
    "train_time_s", "device", "status",
)  # fmt: skip
#: The columns of the Accuracy & cost page (its runs are all completed, on one data set).
ACCURACY_COLUMNS = (
    "run",
    "method",
    "rank",
    "seed",
    "data",
    "test_acc",
    "trainable_params",
    "flops",
    "train_time_s",
)
#: The columns a projector shows (meeting mode): the table then fits the page.
MEETING_COLUMNS = ("run", "method", "rank", "seed", "test_acc", "status")
MEETING_ACCURACY_COLUMNS = ("run", "method", "rank", "seed", "test_acc", "trainable_params")
#: The prefixes of recorded model names the dashboard gives runs whose base model it cannot rebuild.
UNREBUILDABLE = ("upload:", "module:")


@dataclass
class TrainTask:
    """One run to train: the method and its settings."""

    method: str
    rank: int = DEMO_RANK
    targets: str | tuple[str, ...] = "all"
    train: TrainConfig = field(default_factory=lambda: DEMO_TRAIN_CONFIG)
    #: Further adapter settings (:class:`~metalora.MetaLoRAConfig` fields, e.g. the demo's feature source).
    adapter: dict[str, Any] = field(default_factory=dict)

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
    loaded_splits: DataSplits | None  # None: not in memory yet (rebuilt from its folder on first use)
    model_label: str
    data_label: str
    created: float = field(default_factory=time.time)
    analysis_memo: RunAnalysis | None = field(default=None, repr=False)  # held for app.views.analysis

    @property
    def model(self) -> nn.Module:
        """The trained model; a recorded run's is rebuilt from its folder on first use (a plain
        :class:`~metalora.errors.MetaLoRAError` when it cannot be)."""
        if self.result.model is None:
            self._rebuild()
        return self.result.model

    @property
    def splits(self) -> DataSplits:
        """The data the run was trained and tested on (rebuilt like :attr:`model`)."""
        if self.loaded_splits is None:
            self._rebuild()
        return self.loaded_splits

    @property
    def loaded(self) -> bool:
        """True when the model and the data are in memory (trained here, or already rebuilt)."""
        return self.result.model is not None and self.loaded_splits is not None

    @property
    def completed(self) -> bool:
        """A run that finished training; failed runs are listed, never analysed."""
        return self.result.status == "completed"

    def _rebuild(self) -> None:
        from app.recorded import rebuild  # Streamlit's shared caches: only when a run is rebuilt

        rebuild(self)

    @property
    def method(self) -> str:
        return self.task.method

    @property
    def data_key(self) -> str:
        """What identifies the run's data set: runs with the same key were trained on the same data."""
        spec = self.result.data
        if spec is None:
            return f"upload:{self.result.dataset}"
        return json.dumps(spec.to_dict(), sort_keys=True)

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
            "data": data_label(r.data, self.data_label, lang),
            "test_acc": round(100 * r.accuracy, 1) if self.completed else None,
            "trainable_params": r.trainable_params,
            "flops": r.flops,
            "train_time_s": round(r.train_time_s, 2),
            "device": r.device,
            "status": t(STATUS_KEYS.get(self.result.status, "status_failed"), lang),
        }


STATUS_KEYS = {
    "completed": "status_completed",
    "failed": "status_failed",
    "running": "status_running",
    "interrupted": "status_interrupted",
}
"""The string of each status a registry row can hold (:data:`metalora.training.run_registry.STATUSES`)."""


def train_one(
    base: nn.Module,
    data: DataSplits | DataSpec | StreamSpec,
    task: TrainTask,
    *,
    model_label: str,
    data_label: str,
    model_ref: str | None = None,
    registry: RunRegistry | None = None,
    callback: Callable[[Progress], None] | None = None,
    cancel_event: threading.Event | None = None,
) -> RunRecord:
    """Train ``task`` on a copy of ``base`` (the library copies it), record it, return the finished run.

    ``model_ref`` is the name recorded for the base model: ``"sample:NAME"`` for a sample model (so the run
    can be rebuilt from its folder later); without one the model counts as uploaded (``"upload:LABEL"``).
    """
    splits = data.load() if isinstance(data, DataSpec | StreamSpec) else data
    result = train_run(
        base,
        data,
        task.method,
        task.train,
        rank=int(task.rank),
        target_modules=task.targets,
        adapter_kwargs=task.adapter,
        registry=registry,
        callback=callback,
        cancel_event=cancel_event,
        model_name=model_ref or f"upload:{model_label}",
    )
    result.model.cpu().eval()
    return RunRecord(
        id=int(result.id) if result.id is not None else _local_id(),
        task=task,
        result=result,
        loaded_splits=splits,
        model_label=model_label,
        data_label=data_label,
    )


def data_name(name: str, lang: str) -> str:
    """A built-in data set's name in ``lang`` (its ``data_<name>`` string), else ``name`` as it is."""
    from app.strings import STRINGS

    return t(f"data_{name}", lang) if f"data_{name}" in STRINGS else name


def data_label(spec, fallback: str, lang: str) -> str:
    """``"手書き数字 × 4"``: a built-in set named in ``lang`` with how many kinds of input; ``fallback``
    (the recorded label) for uploaded data or a streamed source."""
    domains = getattr(spec, "domains", None)
    if not isinstance(spec, DataSpec) or domains is None:
        return fallback
    return f"{data_name(spec.name, lang)} × {len(domains)}"


_local = iter(range(1_000_000, 2_000_000))


def _local_id() -> int:
    """An id for a run that was not recorded in a registry."""
    return next(_local)
