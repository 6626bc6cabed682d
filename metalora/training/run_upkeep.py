"""The upkeep of a run registry over a long day: runs whose process died, the disk they use, clean-up.

A mixin of :class:`~metalora.training.run_registry.RunRegistry` (which keeps the database itself): it only
uses the registry's public methods (``list``, ``update``, ``delete``) and its folders.

**Leftover folders.** A run folder is written as a hidden ``runs/.tmp-<name>-<random>/`` and renamed into
place in one step (:func:`~metalora.training.run_folder.save_run_folder`); a deleted run's folder is renamed
to ``runs/.deleting-<name>-<random>/`` and then removed (:meth:`RunRegistry.delete`). A process killed in
between leaves that hidden folder behind, recorded by no run. :meth:`RegistryUpkeep.leftovers` lists them,
:meth:`~RegistryUpkeep.disk_usage` counts them and :meth:`~RegistryUpkeep.remove_leftovers` (and
:meth:`~RegistryUpkeep.prune`) removes them, but never a ``.tmp-*`` folder that a training still running
may be writing. A ``.tmp-*`` folder is a leftover when

* nothing in it (the folder and its files) changed for :data:`LEFTOVER_AGE_S` (an hour; a run folder is
  written in seconds, so no training leaves its folder untouched that long), or
* no run of the registry is ``running`` once the runs of this machine whose process is gone have been
  marked ``interrupted`` (:meth:`~RegistryUpkeep.recover_interrupted`): every training records its run as
  ``running`` before it writes its folder and keeps it so until the folder is renamed into place. The
  folders are listed before the runs are read, so a folder of a training that starts meanwhile is not
  among them.

A run still ``running`` on another machine that shares the data folder, or whose process cannot be checked,
therefore protects every fresh ``.tmp-*`` folder until it is an hour old. A ``.deleting-*`` folder belongs
to a run already deleted and is always a leftover. A training that records in no registry but writes into
its ``runs/`` folder (``train_run(out_dir=...)`` without ``registry``) is protected by the age alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["DELETING_PREFIX", "LEFTOVER_AGE_S", "TMP_PREFIX", "RegistryUpkeep"]

#: The name prefix of a run folder being written (``run_folder.save_run_folder``) ...
TMP_PREFIX = ".tmp-"
#: ... and of a deleted run's folder being removed (``RunRegistry.delete``).
DELETING_PREFIX = ".deleting-"
#: Seconds after its last change from which a ``.tmp-*`` folder is a leftover whatever the registry says.
LEFTOVER_AGE_S = 3600.0


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
        """Bytes on disk: ``{"registry": the SQLite file and its journal, "runs": the run folders (a folder
        being written too), "leftovers": the leftover folders of interrupted runs and deletions
        (:meth:`leftovers`), "leftover_folders": how many there are, "total": registry + runs + leftovers}``."""
        registry = sum(
            p.stat().st_size
            for p in (self.db_path, Path(f"{self.db_path}-wal"), Path(f"{self.db_path}-shm"))
            if p.is_file()
        )
        left = self.leftovers()
        leftovers = sum(left.values())
        runs = max(0, _tree_bytes(self.runs_dir) - leftovers)
        return {
            "registry": registry,
            "runs": runs,
            "leftovers": leftovers,
            "leftover_folders": len(left),
            "total": registry + runs + leftovers,
        }

    def leftovers(self) -> dict[Path, int]:
        """The leftover folders under ``runs/`` (see the module's notes: hidden ``.tmp-*`` folders no
        training can still be writing, ``.deleting-*`` folders) and the bytes of each, by name."""
        try:
            hidden = sorted(
                p
                for p in self.runs_dir.iterdir()
                if p.name.startswith((TMP_PREFIX, DELETING_PREFIX)) and p.is_dir() and not p.is_symlink()
            )
        except OSError:  # no runs folder (yet)
            return {}
        if not hidden:
            return {}
        self.recover_interrupted()  # a training killed since the registry opened no longer counts
        training = bool(self.list(status="running", limit=1))  # read after listing the folders
        now = time.time()
        found = {}
        for folder in hidden:
            if folder.name.startswith(TMP_PREFIX):
                changed = _newest_change(folder)
                if changed is None or (training and now - changed < LEFTOVER_AGE_S):
                    continue  # gone meanwhile (renamed into place), or it may still be written
            found[folder] = _tree_bytes(folder)
        return found

    def remove_leftovers(self, only: Iterable[str | os.PathLike] | None = None) -> tuple[int, int]:
        """Remove the :meth:`leftovers` (only those named in ``only``, when given: what a user was shown;
        one that is no longer a leftover is kept); return ``(folders removed, bytes freed)``."""
        names = None if only is None else {Path(p).name for p in only}
        removed = freed = 0
        for folder, size in self.leftovers().items():
            if names is not None and folder.name not in names:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed, freed = removed + 1, freed + size
        return removed, freed

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

    def prune(
        self, *, older_than_days: float | None = None, keep_last: int | None = None, leftovers: bool = True
    ) -> list[dict]:
        """Delete what :meth:`prune_candidates` lists (rows and folders, as :meth:`delete`); return them.
        With ``leftovers`` (the default), remove the :meth:`leftovers` too (:meth:`remove_leftovers`)."""
        doomed = self.prune_candidates(older_than_days=older_than_days, keep_last=keep_last)
        for run in doomed:
            with contextlib.suppress(LookupError):  # RunNotFoundError: deleted meanwhile by another process
                self.delete(run["id"])
        if leftovers:
            self.remove_leftovers()
        return doomed


def _files(folder: Path) -> Iterable[os.stat_result]:
    """The ``lstat`` of every regular file under ``folder`` (symbolic links are not followed); a file or
    folder that disappears meanwhile (renamed or deleted by another process) is skipped."""
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):  # lstat: a link is not a regular file
                yield st


def _tree_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (symbolic links are not followed)."""
    return sum(st.st_size for st in _files(folder))


def _newest_change(folder: Path) -> float | None:
    """The newest modification time of ``folder`` and of every file in it; None once it is gone."""
    try:
        newest = folder.lstat().st_mtime
    except OSError:
        return None
    return max([newest, *(st.st_mtime for st in _files(folder))])


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
