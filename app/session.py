"""What one user's session holds: the chosen model and data, the training job, the finished runs.

Everything a user trains or uploads lives in ``st.session_state`` (never in a shared cache). Pages
read it through these helpers so the keys are spelled in one place.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:  # imported lazily: the first page must render before torch is loaded
    from jobs import TrainingJob
    from runs import RunRecord
    from torch import nn

    from metalora.data import DataSpec, DataSplits

JOB, RUNS, MODEL, DATA = "job", "runs", "model_choice", "data_choice"


@dataclass(eq=False)
class ModelChoice:
    """The base model the user picked: a sample model by name, or uploaded weights held here."""

    label: str
    sample: str | None = None
    uploaded: nn.Module | None = None
    card: dict | None = None

    def frozen(self) -> nn.Module:
        """The base model for looking at (do not train it; use :meth:`fresh`)."""
        if self.sample is not None:
            import resources

            return resources.sample_model(self.sample)[0]
        return self.uploaded

    def fresh(self) -> nn.Module:
        """A private copy of the base model, to put adapters into."""
        return copy.deepcopy(self.frozen())


@dataclass(eq=False)
class DataChoice:
    """The data the user picked, already split, and a short label for tables."""

    label: str
    splits: DataSplits
    spec: DataSpec | None = None  # a built-in set: recorded with each run so it can be rebuilt

    @property
    def source(self) -> DataSplits | DataSpec:
        """What training reads: the spec when there is one, else the splits."""
        return self.spec if self.spec is not None else self.splits


def get(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def model_choice() -> ModelChoice | None:
    return st.session_state.get(MODEL)


def data_choice() -> DataChoice | None:
    return st.session_state.get(DATA)


def set_model(choice: ModelChoice) -> None:
    st.session_state[MODEL] = choice


def set_data(choice: DataChoice) -> None:
    st.session_state[DATA] = choice


def job() -> TrainingJob | None:
    return st.session_state.get(JOB)


def runs() -> list[RunRecord]:
    """The finished runs of this session, oldest first (takes in a finished job's runs first)."""
    collect()
    return st.session_state.setdefault(RUNS, [])


def collect() -> bool:
    """Move the runs of a finished job into the session, once; True if that happened now."""
    current = st.session_state.get(JOB)
    if current is None or current.active or current.collected:
        return False
    current.collected = True
    st.session_state.setdefault(RUNS, []).extend(current.records)
    return True


def start_job(new: TrainingJob) -> bool:
    """Start ``new`` unless this session already has an active job (False then)."""
    current = st.session_state.get(JOB)
    if current is not None and current.active:
        return False
    collect()
    st.session_state[JOB] = new.start()
    return True


def delete_run(run_id: int) -> None:
    """Forget a run in this session and delete it from the run registry (row and folder)."""
    from metalora.training.run_registry import RunNotFoundError, RunRegistry

    st.session_state[RUNS] = [r for r in runs() if r.id != run_id]
    with contextlib.suppress(RunNotFoundError):  # never recorded, or already deleted elsewhere
        RunRegistry().delete(run_id)


def scaling_runs() -> list[RunRecord]:
    """Runs whose method has a core (CP / TR / MetaLoRA): LoRA has no seeds to look at."""
    return [r for r in runs() if r.has_scaling]


def adapter_runs() -> list[RunRecord]:
    """Runs with low-rank adapters (every method but the head-only and full baselines)."""
    return [r for r in runs() if r.has_adapters]
