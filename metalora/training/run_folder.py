"""Run folders: what a run trained and its record, written beside their final place and renamed there in
one step, so a folder is either complete or absent (never half-written).

The folder is written as a hidden ``.tmp-<name>-<random>`` beside its final place. A process killed while
writing it (SIGKILL, a power cut: no ``except`` runs) leaves that hidden folder behind, recorded by no run;
the registry counts such leftovers and removes them on clean-up, never one a running training may still be
writing (:mod:`metalora.training.run_upkeep`: ``RunRegistry.leftovers``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from torch import nn

from ..errors import CancelledError
from .methods import save_trained
from .run_registry import now_iso
from .run_upkeep import TMP_PREFIX

__all__ = ["RUN_CONFIG", "read_run_config", "save_run_folder"]

RUN_CONFIG = "run.json"


def save_run_folder(
    net: nn.Module, method: str, parent: Path, record: dict[str, Any], cancel_event: threading.Event | None
) -> Path:
    """Write the trained weights and ``run.json`` into a new folder under ``parent``; return it.

    Raises
    ------
    CancelledError
        ``cancel_event`` was set before the folder was in place (nothing is left behind).
    """
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    final = parent / f"{stamp}-{method}-s{record['seed']}-{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{final.name}-", dir=parent))
    try:
        save_trained(net, method, tmp)
        (tmp / RUN_CONFIG).write_text(
            json.dumps({**record, "saved": now_iso()}, indent=1, default=str), encoding="utf-8"
        )
        if cancel_event is not None and cancel_event.is_set():
            raise CancelledError("Training was cancelled before the run was saved.", "Nothing was written.")
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_run_config(folder: str | os.PathLike) -> dict:
    """The ``run.json`` of a run folder ({} when there is none or it cannot be read)."""
    path = Path(folder) / RUN_CONFIG
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
