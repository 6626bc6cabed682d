"""What one user's session holds: the chosen model and data, the training job, which runs are its own.

Everything a user trains or uploads lives in ``st.session_state`` (never in a shared cache). Pages
read it through these helpers so the keys are spelled in one place.

The run registry is the truth about runs: :func:`runs` lists them from it, this session's by default
and every recorded run when the user asks for them ("All recorded runs"). A session's own runs are
remembered by their registry ids, also in the page's address (``?runs=3,4``), so a reload of the tab or a
new connection after a server restart still calls them "this session". The address was chosen over a
cookie or the browser's storage because Streamlit reads it before the first page is drawn and it needs no
component; it names only run ids, which every user can see under "All recorded runs" anyway. The
:class:`~app.session_runs.RunRecord` of each run listed is kept in the session (:data:`CACHE`), so a run
rebuilt from its folder is rebuilt once per session.
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
    from metalora.data import DataSpec, DataSplits, StreamSpec
    from metalora.training.run_registry import RunRegistry

JOB, MODEL, DATA = "job", "model_choice", "data_choice"
#: This session's run ids, oldest first; the runs listed so far, by id; the "All recorded runs" toggle.
RUN_IDS, CACHE, ALL_RUNS = "session_run_ids", "run_cache", "all_runs"
#: The query parameter that keeps this session's run ids over a reload.
URL_PARAM = "runs"

#: The columns of the run-registry table on the Runs page (each has its ``col_`` string).
REGISTRY_COLUMNS = (
    "run", "created", "model", "data", "method", "rank", "seed", "test_acc", "trainable_params", "status",
)  # fmt: skip
#: The registry columns a projector shows (meeting mode).
MEETING_REGISTRY_COLUMNS = ("run", "created", "data", "method", "rank", "test_acc", "status")


@dataclass(eq=False)
class ModelChoice:
    """The base model the user picked: a sample model by name, or uploaded weights held here."""

    label: str
    sample: str | None = None
    uploaded: nn.Module | None = None
    card: dict | None = None

    @property
    def ref(self) -> str:
        """The name recorded with a run: ``"sample:NAME"`` (rebuildable), else ``"upload:LABEL"``."""
        return f"sample:{self.sample}" if self.sample is not None else f"upload:{self.label}"

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
    spec: DataSpec | StreamSpec | None = (
        None  # built-in or streamed from disk: recorded, so it can be rebuilt
    )

    @classmethod
    def builtin(cls, spec: DataSpec, splits: DataSplits) -> DataChoice:
        """A built-in data set, labelled ``"digits × 4"`` (its name and how many kinds of input)."""
        return cls(label=f"{spec.name} × {len(spec.domains)}", splits=splits, spec=spec)

    def display(self, lang: str) -> str:
        """The label in ``lang`` (a built-in set's name translated)."""
        from app.session_runs import data_label

        return data_label(self.spec, self.label, lang)

    @property
    def source(self) -> DataSplits | DataSpec | StreamSpec:
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


def session_ids() -> list[int]:
    """Registry ids of this session's runs, oldest first (read from the page's address after a reload)."""
    if RUN_IDS not in st.session_state:
        st.session_state[RUN_IDS] = parse_ids(st.query_params.get(URL_PARAM, ""))
    return st.session_state[RUN_IDS]


def parse_ids(text: str) -> list[int]:
    """``"3,4"`` -> ``[3, 4]``; anything that is not a positive whole number is left out."""
    ids = [int(p) for p in str(text).split(",") if p.strip().isdigit() and int(p) > 0]
    return list(dict.fromkeys(ids))


def sync_url() -> None:
    """Write this session's run ids into the page's address (a page switch may have dropped them)."""
    value = ",".join(str(i) for i in session_ids())
    if st.query_params.get(URL_PARAM, "") != value:
        if value:
            st.query_params[URL_PARAM] = value
        else:
            del st.query_params[URL_PARAM]


def cache() -> dict[int, RunRecord]:
    """The runs this session has listed or trained, by id (a rebuilt run keeps its model here)."""
    return st.session_state.setdefault(CACHE, {})


def show_all() -> bool:
    """True when the user asked for every recorded run, not only this session's."""
    return bool(st.session_state.get(ALL_RUNS, False))


def registry() -> RunRegistry:
    from metalora.training.run_registry import RunRegistry

    return RunRegistry()


def listed(all_runs: bool | None = None) -> list[RunRecord]:
    """The runs in view, oldest first, failed ones included: this session's, or every recorded run.

    Read from the registry on every call (so a run recorded by another session or the command line, or
    deleted elsewhere, shows at once); a run already held in the session is reused, not read again. A run
    another session (or process) is still training is left out until it has finished: a training in
    progress is its owner's (the Runs page's registry table still lists it as "training now").
    """
    collect()
    everything = show_all() if all_runs is None else all_runs
    mine = set(session_ids())
    held = cache()
    out = []
    for row in registry().list(newest_first=False):
        run_id = int(row["id"])
        if run_id in mine or (everything and row.get("status") != "running"):
            if run_id not in held:
                from app.recorded import from_row  # torch and the training code: only for a run in view

                held[run_id] = from_row(row)
            out.append(held[run_id])
    return out


def runs(all_runs: bool | None = None) -> list[RunRecord]:
    """The finished (completed) runs in view, oldest first: the ones a view can show."""
    return [r for r in listed(all_runs) if r.completed]


def collect() -> bool:
    """Take in the runs of a finished job once (this session's from now on); True if that happened now."""
    current = st.session_state.get(JOB)
    if current is None or current.active or current.collected:
        return False
    current.collected = True
    ids = session_ids()
    for record in current.records:
        cache()[record.id] = record
        if record.id not in ids:
            ids.append(record.id)
    ids.extend(i for i in current.failed_ids if i not in ids)  # listed as failed, never analysed
    sync_url()
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
    """Delete a run for good: its registry row and its folder; forget it in this session."""
    from metalora.training.run_registry import RunNotFoundError

    cache().pop(run_id, None)
    st.session_state[RUN_IDS] = [i for i in session_ids() if i != run_id]
    sync_url()
    with contextlib.suppress(RunNotFoundError):  # already deleted elsewhere
        registry().delete(run_id)


def scaling_runs(all_runs: bool | None = None) -> list[RunRecord]:
    """Runs whose method has a core (CP / TR / MetaLoRA): LoRA has no scaling factors to look at."""
    return [r for r in runs(all_runs) if r.has_scaling]


def adapter_runs(all_runs: bool | None = None) -> list[RunRecord]:
    """Runs with low-rank adapters (every method but the head-only and full baselines)."""
    return [r for r in runs(all_runs) if r.has_adapters]


def registry_rows(registry: RunRegistry, lang: str, limit: int = 200) -> list[dict]:
    """The newest ``limit`` runs of the run registry (also those from the command line) as table rows
    with :data:`REGISTRY_COLUMNS`, the method named in ``lang`` and the accuracy in percent."""
    from app.session_runs import STATUS_KEYS, data_name
    from app.strings import t
    from metalora.methods import method_label

    return [
        {
            "run": r.get("id"),
            "created": recorded_time(r.get("created")),
            "model": r.get("model"),
            "data": data_name(str(r.get("dataset") or "–"), lang),
            "method": method_label(r.get("method"), lang),
            "rank": r.get("rank"),
            "seed": r.get("seed"),
            "test_acc": None if r.get("accuracy") is None else round(100 * float(r["accuracy"]), 1),
            "trainable_params": r.get("trainable_params"),
            "status": t(STATUS_KEYS.get(r.get("status"), "status_failed"), lang),
        }
        for r in registry.list(limit=limit)
    ]


def recorded_time(created: object) -> object:
    """A registry row's ISO time stamp as people read it, in UTC, to the minute: ``"2026-12-02 01:33"``
    (anything else as is). No word after it, so it reads the same in every language."""
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(str(created))
    except ValueError:
        return created
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M")
