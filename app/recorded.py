"""Runs read back from the run registry: a row becomes a :class:`~app.session_runs.RunRecord`, and a
record without its model is rebuilt from its folder.

The registry (SQLite under ``$METALORA_HOME``) is the truth: a reload, a dropped connection or a
server restart loses nothing, because every page lists runs from it. :func:`from_row` is cheap (the
recorded facts only: tables and pickers need nothing more); :func:`rebuild` loads the base model and
the data again and puts the trained weights on it, the first time a view needs them. The rebuilt record
lives in the user's session (:mod:`app.session`); the only shared objects are the read-only sample
models and built-in data sets of :mod:`app.resources`.

What cannot be rebuilt says so plainly: a failed run (nothing was trained), a run on an uploaded model
or uploaded data (the files are not kept), a run whose folder is gone.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.session_runs import UNREBUILDABLE, RunRecord, TrainTask
from metalora.errors import ConfigError, DataError, FileFormatError, ModelError, TrainingError
from metalora.training import TrainConfig
from metalora.training.demo import DEMO_RANK
from metalora.training.run import RunResult

SAMPLE = "sample:"


def model_label(name: str) -> str:
    """The recorded model name as the dashboard shows it (``sample:`` / ``upload:`` left out)."""
    for prefix in (SAMPLE, *UNREBUILDABLE):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def data_label(result: RunResult) -> str:
    """``"digits × 4"`` for a built-in set (as :meth:`app.session.DataChoice.builtin` names it), else
    the recorded name of the uploaded data."""
    spec = result.data
    if spec is None:
        return result.dataset
    domains = getattr(spec, "domains", None)  # a streamed source (folder:PATH...) is named by its text
    return f"{spec.name} × {len(domains)}" if domains is not None else spec.source


def train_config(settings: Mapping[str, Any] | None, seed: int) -> TrainConfig:
    """The recorded training settings (unknown or invalid ones give the defaults with the run's seed)."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    known = {k: v for k, v in dict(settings or {}).items() if k in fields}
    try:
        return TrainConfig(**known)
    except (ConfigError, TypeError):
        return TrainConfig(seed=seed)


def from_row(row: Mapping[str, Any]) -> RunRecord:
    """A registry row as a run of the dashboard: its facts, no model and no data in memory yet."""
    result = RunResult.from_record(row)
    config = result.config
    targets = config.get("target_modules") or "all"
    task = TrainTask(
        method=result.method,
        rank=int(result.rank or DEMO_RANK),
        targets=targets if isinstance(targets, str) else tuple(targets),
        train=train_config(config.get("train"), result.seed),
    )
    return RunRecord(
        id=int(row["id"]),
        task=task,
        result=result,
        loaded_splits=None,
        model_label=model_label(result.model_name),
        data_label=data_label(result),
    )


def base_model(name: str, splits, options: Mapping[str, Any]):
    """A fresh copy of the base model recorded as ``name``; a plain error for an uploaded one."""
    from app import resources
    from metalora.models import resolve_model

    if not name or name.startswith(UNREBUILDABLE):
        raise ModelError(
            f"This run was trained on an uploaded model ({model_label(name)}); uploaded models are not kept, "
            "so it cannot be shown again.",
            "Its numbers stay in the tables. To look inside it, upload the model again and train a new run.",
        )
    sample = name[len(SAMPLE) :] if name.startswith(SAMPLE) else None
    if sample is None and ":" not in name and name in resources.sample_model_names():
        sample = name  # a run recorded by an older dashboard, under the sample model's bare name
    if sample is not None:
        if sample not in resources.sample_model_names():
            raise ModelError(
                f"The sample model {sample!r} this run was trained on is not installed any more.",
                "Build the sample models again with `make sample-models`, then reload this page.",
            )
        return copy.deepcopy(resources.sample_model(sample)[0])  # the shared one is never changed
    return resolve_model(name, splits, **dict(options or {}))[0]


def rebuild(run: RunRecord) -> RunRecord:
    """Load ``run``'s data and base model and put its trained weights on it (in place); returns it.

    Raises
    ------
    MetaLoRAError
        With a plain message when the run cannot be rebuilt (failed, uploaded model or data, no folder).
    """
    from app import resources
    from metalora.training import load_trained

    result = run.result
    if not run.completed:
        raise TrainingError(
            f"Run #{run.id} failed during training, so there is nothing to look at.",
            "Pick another run, or train this one again.",
        )
    if result.data is None:
        raise DataError(
            f"Run #{run.id} was trained on uploaded data ({result.dataset}); uploaded data is not kept, so "
            "its views cannot be shown again.",
            "Its numbers stay in the tables. Upload the same file and train again to look inside it.",
        )
    folder = Path(result.adapter_path) if result.adapter_path else None
    if folder is None or not folder.is_dir():
        raise FileFormatError(
            f"The folder of run #{run.id} ({folder or 'none recorded'}) is missing.",
            "Its numbers stay in the tables; train the run again to look inside it.",
        )
    splits = run.loaded_splits or resources.builtin_data(result.data)
    if result.model is None:
        base = base_model(result.model_name, splits, result.config.get("model_options") or {})
        result.model = load_trained(base, folder).cpu().eval()
    run.loaded_splits = splits
    return run
