"""Background training jobs that survive reruns and page switches.

A :class:`TrainingJob` trains one or more runs in a plain ``threading.Thread``. The thread NEVER
calls Streamlit: it writes its progress into the job object (guarded by a lock) and a polling
``@st.fragment(run_every=...)`` on the page reads it. Cancelling sets a ``threading.Event`` that
:func:`metalora.training.fit` checks before every batch. One job at a time runs per device,
process-wide: the others wait in line for the device's lock, first come first served, and each knows its
place (:meth:`TrainingJob.queue_place`: the training now running is the 1st, the next job the 2nd ...),
which the page shows. Whatever goes wrong in the thread (a device that does not exist included) ends the
job as FAILED with a message, so the next job can start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
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
_LINES: dict[str, list[TrainingJob]] = {}  # per device: the jobs waiting for its lock, first come first
_LOCKS_GUARD = threading.Lock()  # guards both tables and every line
_POLL_S = 0.2  # how often a waiting job looks again (and notices Cancel)
#: How much a training's thread yields the processor to the pages (its Linux nice value, 0 to 19; 0: not).
TRAIN_NICE = int(os.environ.get("METALORA_TRAIN_NICE", "10"))

WAITING, RUNNING, DONE, FAILED, CANCELLED = "waiting", "running", "done", "failed", "cancelled"

#: The share of a job's work after which its own measured pace alone estimates the time left.
TRUST_PROGRESS = 0.3


def device_key(device: str) -> str:
    """The kind of device a job trains on (``"auto"`` -> ``"cpu"`` here): jobs of one key share its lock."""
    from metalora.device import pick_device

    return str(pick_device(device)).split(":")[0]


def _yield_to_pages() -> None:
    """Lower this thread's priority to :data:`TRAIN_NICE` (Linux: a thread's own nice value; torch's worker
    threads it starts inherit it; never raised), so that every session's pages stay quick while it trains:
    a page's script then runs as fast as with no training (measured: 0.21 s against 0.31 s at the same
    priority). Elsewhere nothing changes."""
    if TRAIN_NICE > 0 and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            me = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, me, max(os.getpriority(os.PRIO_PROCESS, me), TRAIN_NICE))


def device_lock(device: str) -> threading.Lock:
    """The process-wide lock of a device (``"cpu"``, ``"cuda"``...): one training at a time on it."""
    key = device_key(device)
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
    #: Seconds the whole job is expected to train, known before it starts (the demo's measured time), so
    #: the time left shows from the first second; None: estimated from the progress once there is some.
    expected_s: float | None = None
    # called with the training's seconds (from running_since) when the job ends DONE; its errors are logged
    on_done: Callable[[float], None] | None = None
    running_since: float | None = None  # time.monotonic() when training began (after any wait in line)
    collected: bool = False  # the session has taken the records
    failed_ids: list[int] = field(default_factory=list)  # registry ids of runs recorded as failed
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="metalora-train", daemon=True)
        self._line: str | None = None  # the device key of the line this job waits in, while it waits

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

    def time_left(self, now: float | None = None) -> float | None:
        """Seconds of training left, estimated; None while waiting, when over, or with nothing to go on.

        Before :data:`TRUST_PROGRESS` of the work is done the estimate leans on :attr:`expected_s` (the
        first epoch's steps include setting up), then the measured pace takes over in proportion:
        ``elapsed / done - elapsed`` once the progress is a reliable guide.
        """
        with self._lock:
            since, done, status = self.running_since, self.overall, self.status
        if status != RUNNING or since is None:
            return None
        elapsed = max((time.monotonic() if now is None else now) - since, 0.0)
        paced = elapsed / done - elapsed if done > 0 else None
        prior = None if self.expected_s is None else max(self.expected_s - elapsed, 0.0)
        if prior is None or paced is None:
            return paced if prior is None else prior
        weight = min(done / TRUST_PROGRESS, 1.0)  # 0: the prior alone, 1: the measured pace alone
        return weight * paced + (1 - weight) * prior

    def queue_place(self) -> int | None:
        """This job's place in its device's line while it waits: 2 when one training runs and none waits
        before it, 3 with one more before it ...; ``None`` when it is not waiting in a line (yet)."""
        with _LOCKS_GUARD:
            key = self._line
            line = _LINES.get(key, []) if key is not None else []
            if self.status != WAITING or self not in line:
                return None
            ahead = line.index(self)
            busy = _DEVICE_LOCKS[key].locked()
        return ahead + 1 + int(busy)

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
            _yield_to_pages()
            lock = self._wait_for_device()
            if lock is None:
                self._finish(CANCELLED)
                return
            try:
                self._train_all()
            finally:
                lock.release()
            self._finish(DONE)
            self._report_done()
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

    def _wait_for_device(self) -> threading.Lock | None:
        """Wait in the device's line until this job is first and the device is free; its lock, taken
        (``None`` when cancelled while waiting). The job leaves the line either way."""
        key = device_key(self.device)
        lock = device_lock(self.device)
        with _LOCKS_GUARD:
            line = _LINES.setdefault(key, [])
            line.append(self)
            self._line = key
        try:
            while not self.cancel_event.is_set():
                with _LOCKS_GUARD:
                    first = line[0] is self
                if first and lock.acquire(timeout=_POLL_S):
                    return lock
                if not first:
                    self.cancel_event.wait(_POLL_S)
            return None
        finally:
            with _LOCKS_GUARD:
                line.remove(self)
                self._line = None

    def _train_all(self) -> None:
        from app import views
        from app.session_runs import train_one
        from metalora.training.run_registry import RunRegistry

        with self._lock:
            self.status, self.running_since = RUNNING, time.monotonic()
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

    def _report_done(self) -> None:
        """Hand :attr:`on_done` the training's seconds; a failure there is logged, the job stays DONE."""
        if self.on_done is None or self.running_since is None:
            return
        try:
            self.on_done(time.monotonic() - self.running_since)
        except Exception:
            log.exception("The job's on_done failed (the job itself succeeded)")

    def _finish(self, status: str) -> None:
        with self._lock:
            self.status = status
