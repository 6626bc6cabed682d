"""What one user's session holds: the chosen model and data, the training job, the finished runs.

Everything a user trains or uploads lives in ``st.session_state`` (never in a shared cache). Pages
read it through these helpers so the keys are spelled in one place.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:  # imported lazily: torch loads only when a page needs it
    from torch import nn

    from app.jobs import TrainingJob
    from app.session_runs import RunRecord
    from metalora.data import DataSpec, DataSplits
    from metalora.training.run_registry import RunRegistry

JOB, RUNS, MODEL, DATA = "job", "runs", "model_choice", "data_choice"

#: The columns of the run-registry table on the Runs page (each has its ``col_`` string).
REGISTRY_COLUMNS = (
    "run", "created", "model", "data", "method", "rank", "seed", "test_acc", "trainable_params", "status",
)  # fmt: skip


@dataclass(eq=False)
class ModelChoice:
    """The base model the user picked: a sample model by name, or uploaded weights held here."""

    label: str
    sample: str | None = None
    uploaded: nn.Module | None = None
    card: dict | None = None

    def frozen(self) -> nn.Module:
        """The base model, shared and frozen: look at it, or hand it to training (which trains a copy)."""
        if self.sample is not None:
            from app import resources

            return resources.sample_model(self.sample)[0]
        return self.uploaded


@dataclass(eq=False)
class DataChoice:
    """The data the user picked, already split, and a short label for tables."""

    label: str
    splits: DataSplits
    spec: DataSpec | None = None  # a built-in set: recorded with each run so it can be rebuilt

    @classmethod
    def builtin(cls, spec: DataSpec, splits: DataSplits) -> DataChoice:
        """A built-in data set, labelled ``"digits × 4"`` (its name and how many kinds of input)."""
        return cls(label=f"{spec.name} × {len(spec.domains)}", splits=splits, spec=spec)

    @property
    def source(self) -> DataSplits | DataSpec:
        """What training reads: the spec when there is one, else the splits."""
        return self.spec if self.spec is not None else self.splits


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
    """Runs whose method has a core (CP / TR / MetaLoRA): LoRA has no scaling factors to look at."""
    return [r for r in runs() if r.has_scaling]


def adapter_runs() -> list[RunRecord]:
    """Runs with low-rank adapters (every method but the head-only and full baselines)."""
    return [r for r in runs() if r.has_adapters]


def registry_rows(registry: RunRegistry, lang: str, limit: int = 200) -> list[dict]:
    """The newest ``limit`` runs of the run registry (also those from the command line) as table rows
    with :data:`REGISTRY_COLUMNS`, the method named in ``lang`` and the accuracy in percent."""
    from metalora.methods import method_label

    return [
        {
            "run": r.get("id"),
            "created": r.get("created"),
            "model": r.get("model"),
            "data": r.get("dataset"),
            "method": method_label(r.get("method"), lang),
            "rank": r.get("rank"),
            "seed": r.get("seed"),
            "test_acc": None if r.get("accuracy") is None else round(100 * float(r["accuracy"]), 1),
            "trainable_params": r.get("trainable_params"),
            "status": r.get("status"),
        }
        for r in registry.list(limit=limit)
    ]
