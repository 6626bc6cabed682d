"""Background training jobs that survive reruns and page switches.

A :class:`TrainingJob` trains one or more runs in a plain ``threading.Thread``. The thread NEVER
calls Streamlit: it writes its progress into the job object (guarded by a lock) and a polling
``@st.fragment(run_every=...)`` on the page reads it. Cancelling sets a ``threading.Event`` that
:func:`metalora.training.fit` checks before every batch. One job at a time runs per device,
process-wide: a second job waits for the device's lock and says so. Whatever goes wrong in the thread
(a device that does not exist included) ends the job as FAILED with a message, so the next job can start.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the heavy imports (torch) happen in the thread, so the first page renders fast
    from torch import nn

    from app.session_runs import RunRecord, TrainTask
    from metalora.data import DataSpec, DataSplits, StreamSpec
    from metalora.training import Progress

log = logging.getLogger("metalora.app")

_DEVICE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()

WAITING, RUNNING, DONE, FAILED, CANCELLED = "waiting", "running", "done", "failed", "cancelled"


def device_lock(device: str) -> threading.Lock:
    """The process-wide lock of a device (``"cpu"``, ``"cuda"``...): one training at a time on it."""
    from metalora.device import pick_device

    key = str(pick_device(device)).split(":")[0]
    with _LOCKS_GUARD:
        return _DEVICE_LOCKS.setdefault(key, threading.Lock())


@dataclass
class CurvePoint:
    """One point of the live curves."""

    task: int
    x: float  # fractional epoch, e.g. 1.5
    loss: float
    train_acc: float
    val_acc: float | None


@dataclass(eq=False)
class TrainingJob:
    """Trains ``tasks`` one after the other on ``device``; read its fields from any thread."""

    tasks: list[TrainTask]
    make_base: Callable[[], nn.Module]  # the base model (the library trains a copy of it)
    data: DataSplits | DataSpec | StreamSpec
    model_label: str
    data_label: str
    model_ref: str | None = None  # the name recorded (see app.session_runs.train_one)
    status: str = WAITING
    task_index: int = 0
    fraction: float = 0.0  # progress of the current task in [0, 1]
    points: list[CurvePoint] = field(default_factory=list)
    records: list[RunRecord] = field(default_factory=list)
    error: str | None = None  # a message for the user (MetaLoRAError text), or None
    error_unexpected: bool = False  # True: a bug, details in ``error_detail`` and the log
    error_detail: str | None = None
    started: float = field(default_factory=time.time)
    collected: bool = False  # the session has taken the records
    failed_ids: list[int] = field(default_factory=list)  # registry ids of runs recorded as failed
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="metalora-train", daemon=True)

    @property
    def device(self) -> str:
        """The device the tasks train on (their ``TrainConfig.device``: one place holds it)."""
        return self.tasks[0].train.device if self.tasks else "auto"

    # -- control --------------------------------------------------------------------------------
    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.cancel_event.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def active(self) -> bool:
        return self.status in (WAITING, RUNNING)

    @property
    def overall(self) -> float:
        """Progress over all tasks in [0, 1]."""
        n = max(len(self.tasks), 1)
        return min(1.0, (self.task_index + self.fraction) / n)

    def snapshot(self) -> tuple[str, int, float, list[CurvePoint]]:
        """A consistent copy of (status, task index, overall fraction, curve points)."""
        with self._lock:
            return self.status, self.task_index, self.overall, list(self.points)

    # -- the thread -----------------------------------------------------------------------------
    def _progress(self, p: Progress) -> None:
        with self._lock:
            self.fraction = p.fraction
            x = p.epoch - 1 + p.step / max(p.steps_per_epoch, 1)
            self.points.append(CurvePoint(self.task_index, x, p.loss, p.train_acc, p.val_acc))

    def _run(self) -> None:
        from metalora.errors import CancelledError, MetaLoRAError

        try:  # everything, imports and the device's lock included: a failure must end as FAILED
            lock = device_lock(self.device)
            while not lock.acquire(timeout=0.2):  # another job holds the device: wait, visibly
                if self.cancel_event.is_set():
                    self._finish(CANCELLED)
                    return
            try:
                self._train_all()
            finally:
                lock.release()
            self._finish(DONE)
        except CancelledError:
            self._finish(CANCELLED)
        except MetaLoRAError as err:
            self.error = str(err)
            if getattr(err, "run_id", None) is not None:  # recorded as failed: it is this session's too
                self.failed_ids.append(int(err.run_id))
            self._finish(FAILED)
        except Exception as err:  # a bug: keep the details for the log and for non-meeting mode
            log.exception("Training job failed")
            self.error, self.error_unexpected = f"{type(err).__name__}: {err}", True
            self.error_detail = traceback.format_exc()
            self._finish(FAILED)

    def _train_all(self) -> None:
        from app import views
        from app.session_runs import train_one
        from metalora.training.run_registry import RunRegistry

        self.status = RUNNING
        registry = RunRegistry()
        for i, task in enumerate(self.tasks):
            with self._lock:
                self.task_index, self.fraction = i, 0.0
            record = train_one(
                self.make_base(),
                self.data,
                task,
                model_label=self.model_label,
                data_label=self.data_label,
                model_ref=self.model_ref,
                registry=registry,
                callback=self._progress,
                cancel_event=self.cancel_event,
            )
            views.warm(record)  # before the run is visible: analysis pages then only draw
            with self._lock:
                self.records.append(record)
        with self._lock:
            self.task_index, self.fraction = len(self.tasks), 0.0

    def _finish(self, status: str) -> None:
        with self._lock:
            self.status = status
