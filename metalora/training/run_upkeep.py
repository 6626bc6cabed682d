"""The upkeep of a run registry over a long day: runs whose process died, the disk they use, clean-up.

A mixin of :class:`~metalora.training.run_registry.RunRegistry` (which keeps the database itself): it only
uses the registry's public methods (``list``, ``update``, ``delete``) and its folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["RegistryUpkeep"]


class RegistryUpkeep:
    """Interrupted runs, disk usage and pruning, for :class:`~metalora.training.run_registry.RunRegistry`."""

    def recover_interrupted(self) -> list[int]:
        """Mark ``interrupted`` every ``running`` run of this machine whose process is gone; return their ids.

        A run records its process (``config["process"]``: host and pid) when it starts; a run of another
        machine is left as it is (its process cannot be checked from here).
        """
        host = socket.gethostname()
        with self._connect() as con:
            rows = con.execute("SELECT id, config FROM runs WHERE status = 'running'").fetchall()
        gone = []
        for run_id, config in rows:
            try:
                process = (json.loads(config) if config else {}).get("process") or {}
            except (json.JSONDecodeError, AttributeError):
                process = {}
            if process.get("host") == host and not _alive(process.get("pid")):
                gone.append(int(run_id))
        for run_id in gone:
            with contextlib.suppress(LookupError):  # RunNotFoundError: deleted meanwhile
                self.update(
                    run_id,
                    {
                        "status": "interrupted",
                        "error": "The process training this run stopped (killed, crashed or shut down) "
                        "before it finished; nothing of it was saved.",
                    },
                )
        return gone

    def disk_usage(self) -> dict[str, int]:
        """Bytes on disk: ``{"registry": the SQLite file and its journal, "runs": every run folder, "total"}``."""
        registry = sum(
            p.stat().st_size
            for p in (self.db_path, Path(f"{self.db_path}-wal"), Path(f"{self.db_path}-shm"))
            if p.is_file()
        )
        runs = _tree_bytes(self.runs_dir)
        return {"registry": registry, "runs": runs, "total": registry + runs}

    def run_bytes(self, run: dict) -> int:
        """Bytes of a run's folder (a run record, as :meth:`list` gives it); 0 without one, or for a folder
        outside the data folder (deleting the run never touches it, so it frees nothing)."""
        folder = self.owned_folder(run.get("adapter_path"))
        return _tree_bytes(folder) if folder is not None and folder.is_dir() else 0

    def prune_candidates(
        self, *, older_than_days: float | None = None, keep_last: int | None = None
    ) -> list[dict]:
        """The runs :meth:`prune` would delete (newest first): those created more than ``older_than_days``
        ago, and/or all but the newest ``keep_last``; a run matching either rule goes. Nothing is deleted.

        Runs still ``running`` (training now, in this or another process) are never candidates and do not
        count towards ``keep_last``: their trainings would lose their rows.
        """
        if older_than_days is None and keep_last is None:
            raise ConfigError(
                "Say which runs to clean up.", "Give older_than_days=..., keep_last=..., or both."
            )
        if keep_last is not None and (not isinstance(keep_last, int) or keep_last < 0):
            raise ConfigError(f"keep_last={keep_last!r} must be a whole number >= 0.")
        if older_than_days is not None and not older_than_days >= 0:
            raise ConfigError(f"older_than_days={older_than_days!r} must be >= 0.")
        runs = [r for r in self.list(newest_first=True) if r.get("status") != "running"]
        now = datetime.now(timezone.utc)
        doomed = []
        for i, run in enumerate(runs):
            too_many = keep_last is not None and i >= keep_last
            age_days = (now - datetime.fromisoformat(run["created"])).total_seconds() / 86400
            too_old = older_than_days is not None and age_days > older_than_days
            if too_many or too_old:
                doomed.append(run)
        return doomed

    def prune(self, *, older_than_days: float | None = None, keep_last: int | None = None) -> list[dict]:
        """Delete what :meth:`prune_candidates` lists (rows and folders, as :meth:`delete`); return them."""
        doomed = self.prune_candidates(older_than_days=older_than_days, keep_last=keep_last)
        for run in doomed:
            with contextlib.suppress(LookupError):  # RunNotFoundError: deleted meanwhile by another process
                self.delete(run["id"])
        return doomed


def _tree_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (symbolic links are not followed)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _alive(pid: Any) -> bool:
    """Whether a process with this id runs on this machine (False for a missing or bad id)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True
