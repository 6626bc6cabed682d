"""The run registry: one row per training run in an embedded SQLite file.

The data folder is ``$METALORA_HOME`` (default ``~/.metalora``); it holds ``runs.sqlite`` and the run
folders under ``runs/``. The database runs in WAL mode with a busy timeout, and every write is one
``BEGIN IMMEDIATE`` transaction, so several processes (a dashboard, a command line, ``torchrun``
workers) can write at once without losing a row. A file that is not a readable registry is reported
with :class:`~metalora.errors.FileFormatError` and never deleted or rewritten.

This module imports neither torch nor streamlit.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from ..errors import ConfigError, FileFormatError, MetaLoRAError
from .run_upkeep import RegistryUpkeep

__all__ = ["HOME_ENV", "STATUSES", "RunNotFoundError", "RunRegistry", "default_home"]

HOME_ENV = "METALORA_HOME"
DB_NAME = "runs.sqlite"
RUNS_DIR = "runs"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000
_SQLITE_MAGIC = b"SQLite format 3\x00"

# column -> SQL type; JSON columns hold dicts / lists encoded as text
COLUMNS: dict[str, str] = {
    "created": "TEXT NOT NULL",
    "model": "TEXT",
    "dataset": "TEXT",
    "domains": "TEXT",  # JSON list
    "method": "TEXT",
    "rank": "INTEGER",
    "seed": "INTEGER",
    "config": "TEXT",  # JSON: method, adapter and training settings, data spec
    "metrics": "TEXT",  # JSON: test overall / per domain / per class, val, history
    "accuracy": "REAL",  # test accuracy, copied out of metrics for sorting and filtering
    "trainable_params": "INTEGER",
    "total_params": "INTEGER",
    "flops": "INTEGER",
    "train_time_s": "REAL",
    "peak_memory_bytes": "INTEGER",
    "device": "TEXT",
    "versions": "TEXT",  # JSON
    "status": "TEXT NOT NULL",
    "error": "TEXT",
    "adapter_path": "TEXT",
}
JSON_COLUMNS = ("domains", "config", "metrics", "versions")
FILTERS = ("model", "dataset", "method", "status", "seed", "rank")
STATUSES = ("running", "completed", "failed", "interrupted")
"""A run is ``running`` from its start, then ``completed`` or ``failed``; a run whose process died
(killed, crashed, the machine restarted) is marked ``interrupted`` the next time the registry opens."""


class RunNotFoundError(MetaLoRAError, LookupError):
    """No run with the id asked for."""


def default_home() -> Path:
    """``$METALORA_HOME`` if set, else ``~/.metalora``."""
    return Path(os.environ.get(HOME_ENV) or "~/.metalora").expanduser()


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunRegistry(RegistryUpkeep):
    """Runs recorded in ``<home>/runs.sqlite``; run folders live in ``<home>/runs/``.

    Parameters
    ----------
    path
        A data folder (created if missing), or a ``.sqlite`` / ``.db`` file whose folder is the data
        folder; ``None`` means :func:`default_home`.

    Raises
    ------
    FileFormatError
        The file exists but is not a readable MetaLoRA registry (it is left untouched).
    """

    def __init__(self, path: str | os.PathLike | None = None):
        p = Path(path).expanduser() if path is not None else default_home()
        if p.suffix in (".sqlite", ".db", ".sqlite3"):
            self.home, self.db_path = p.parent, p
        else:
            self.home, self.db_path = p, p / DB_NAME
        self.runs_dir = self.home / RUNS_DIR
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(
                f"Cannot create the data folder {self.home} ({err.strerror}).",
                f"Set {HOME_ENV} to a writable folder.",
            ) from None
        self._check_header()
        self._init_schema()
        self.recover_interrupted()

    def __repr__(self) -> str:
        return f"RunRegistry({str(self.home)!r})"

    # -- connection -----------------------------------------------------------------------------
    def _corrupt(self, why: str) -> FileFormatError:
        return FileFormatError(
            f"The run registry {self.db_path} cannot be read: {why}.",
            f"Nothing was deleted. Move the file aside (e.g. rename it to {self.db_path.name}.bad) to start "
            f"a new, empty registry, or point {HOME_ENV} to another folder.",
        )

    def _check_header(self) -> None:
        if not self.db_path.exists():
            return
        if not self.db_path.is_file():
            raise self._corrupt("it is not a regular file")
        with self.db_path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
        if head and head != _SQLITE_MAGIC:
            raise self._corrupt("it is not an SQLite database")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as err:
            raise self._corrupt(str(err)) from None
        try:
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            yield con
        except sqlite3.DatabaseError as err:
            if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
                raise MetaLoRAError(
                    f"The run registry {self.db_path} stayed locked for {BUSY_TIMEOUT_MS // 1000} s.",
                    "Another process holds it; try again when it has finished.",
                ) from None
            raise self._corrupt(str(err)) from None
        finally:
            con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write transaction (taken immediately, so writers queue instead of deadlocking)."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _init_schema(self) -> None:
        cols = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS.items())
        with self._connect() as con:
            mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # e.g. a network file system without shared memory
                con.execute("PRAGMA journal_mode=DELETE")
        with self._write() as con:
            con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            con.execute(f"CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, {cols})")
            row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                con.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise FileFormatError(
                    f"The run registry {self.db_path} has schema version {row[0]}, newer than this "
                    f"library ({SCHEMA_VERSION}).",
                    "Upgrade metalora, or point METALORA_HOME to another folder.",
                )
            have = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
            for name, kind in COLUMNS.items():  # forward-compatible: add columns a newer version needs
                if name not in have:
                    con.execute(f'ALTER TABLE runs ADD COLUMN "{name}" {kind.replace(" NOT NULL", "")}')

    # -- API ------------------------------------------------------------------------------------
    def add(self, record: Mapping[str, Any]) -> int:
        """Insert one run (a mapping of :data:`COLUMNS` names to values) in one transaction; return its id.

        Missing fields are stored as NULL; ``created`` defaults to now and ``status`` to ``"completed"``.
        Unknown keys are refused.
        """
        unknown = sorted(set(record) - set(COLUMNS) - {"id"})
        if unknown:
            raise ConfigError(
                f"Unknown run record fields: {', '.join(unknown)}.", f"Known: {', '.join(COLUMNS)}."
            )
        row = {k: record.get(k) for k in COLUMNS}
        row["created"] = row["created"] or now_iso()
        row["status"] = row["status"] or "completed"
        for key in JSON_COLUMNS:
            if row[key] is not None and not isinstance(row[key], str):
                row[key] = json.dumps(row[key], default=_json_default)
        names = ", ".join(f'"{k}"' for k in row)
        marks = ", ".join("?" for _ in row)
        with self._write() as con:
            cur = con.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", tuple(row.values()))
            return int(cur.lastrowid)

    def update(self, run_id: int, record: Mapping[str, Any]) -> None:
        """Replace the fields of ``record`` in run ``run_id`` (one transaction); unknown keys are refused."""
        unknown = sorted(set(record) - set(COLUMNS) - {"id"})
        if unknown:
            raise ConfigError(
                f"Unknown run record fields: {', '.join(unknown)}.", f"Known: {', '.join(COLUMNS)}."
            )
        row = {k: v for k, v in record.items() if k in COLUMNS and k != "created"}
        for key in JSON_COLUMNS:
            if row.get(key) is not None and not isinstance(row[key], str):
                row[key] = json.dumps(row[key], default=_json_default)
        sets = ", ".join(f'"{k}" = ?' for k in row)
        with self._write() as con:
            cur = con.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*row.values(), _as_id(run_id)))
            if cur.rowcount == 0:
                raise RunNotFoundError(
                    f"No run with id {run_id} in {self.db_path}.", "It was deleted meanwhile."
                )

    def list(self, *, limit: int | None = None, newest_first: bool = True, **filters: Any) -> list[dict]:
        """Runs as dicts (JSON columns decoded), filtered by equality on :data:`FILTERS` fields."""
        bad = sorted(set(filters) - set(FILTERS))
        if bad:
            raise ConfigError(f"Cannot filter runs by {', '.join(bad)}.", f"Filters: {', '.join(FILTERS)}.")
        where = [(f'"{k}" = ?', v) for k, v in filters.items() if v is not None]
        sql = "SELECT * FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(w for w, _ in where)
        sql += f" ORDER BY id {'DESC' if newest_first else 'ASC'}"
        if limit is not None:
            sql += f" LIMIT {max(0, int(limit))}"
        with self._connect() as con:
            rows = con.execute(sql, tuple(v for _, v in where)).fetchall()
        return [_decode(r) for r in rows]

    def count(self) -> int:
        """Number of recorded runs."""
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def get(self, run_id: int) -> dict:
        """One run by id; :class:`RunNotFoundError` when there is none."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM runs WHERE id = ?", (_as_id(run_id),)).fetchone()
        if row is None:
            raise RunNotFoundError(
                f"No run with id {run_id} in {self.db_path}.", "List the runs with `metalora runs list`."
            )
        return _decode(row)

    def delete(self, run_id: int) -> dict:
        """Delete a run's row (one transaction), then its folder if it lies inside this data folder.

        Returns the deleted record. A folder outside the data folder is never touched.
        """
        record = self.get(run_id)
        with self._write() as con:
            con.execute("DELETE FROM runs WHERE id = ?", (_as_id(run_id),))
        folder = self.owned_folder(record.get("adapter_path"))
        if folder is not None and folder.is_dir():
            trash = folder.with_name(f".deleting-{folder.name}-{uuid.uuid4().hex[:6]}")
            os.replace(folder, trash)  # disappears at once, then is removed at leisure
            shutil.rmtree(trash, ignore_errors=True)
        return record

    def owned_folder(self, path: str | os.PathLike | None) -> Path | None:
        """``path`` resolved, if it lies strictly inside this registry's data folder; else ``None``."""
        if not path:
            return None
        home = self.home.resolve()
        target = Path(path).resolve()
        if target == home or not target.is_relative_to(home) or target == self.db_path.resolve():
            return None
        return target

    def export_csv(self, path_or_buffer: str | os.PathLike | TextIO, **filters: Any) -> int:
        """Write the runs (oldest first) as CSV: scalar columns, one ``acc_<domain>`` column per domain,
        and the JSON columns as text. Returns the number of rows written."""
        runs = self.list(newest_first=False, **filters)
        domains: list[str] = []
        for r in runs:
            for d in ((r.get("metrics") or {}).get("test") or {}).get("per_domain", {}):
                if d not in domains:
                    domains.append(d)
        header = ["id", *COLUMNS, *(f"acc_{d}" for d in domains)]
        if isinstance(path_or_buffer, str | os.PathLike):
            with open(path_or_buffer, "w", newline="", encoding="utf-8") as fh:
                return self._write_csv(fh, header, runs, domains)
        return self._write_csv(path_or_buffer, header, runs, domains)

    @staticmethod
    def _write_csv(fh: TextIO, header: list[str], runs: list[dict], domains: list[str]) -> int:
        writer = csv.writer(fh)
        writer.writerow(header)
        for r in runs:
            per_domain = ((r.get("metrics") or {}).get("test") or {}).get("per_domain", {})
            cells = [r.get(k) for k in ("id", *COLUMNS)]
            cells = [json.dumps(c) if isinstance(c, dict | list) else c for c in cells]
            writer.writerow(cells + [per_domain.get(d) for d in domains])
        return len(runs)

    def to_csv_string(self, **filters: Any) -> str:
        """:meth:`export_csv` into a string (for a download button)."""
        buf = io.StringIO()
        self.export_csv(buf, **filters)
        return buf.getvalue()


def _as_id(run_id: Any) -> int:
    try:
        value = int(run_id)
    except (TypeError, ValueError):
        value = -1
    if value < 1 or str(value) != str(run_id).strip():
        raise RunNotFoundError(f"{run_id!r} is not a run id.", "Run ids are positive whole numbers.")
    return value


def _decode(row: sqlite3.Row) -> dict:
    out = dict(row)
    for key in JSON_COLUMNS:
        if isinstance(out.get(key), str):
            with contextlib.suppress(json.JSONDecodeError):  # a hand-edited row still lists
                out[key] = json.loads(out[key])
    return out


def _json_default(value: Any) -> Any:
    """Encode NumPy scalars, paths and tuples that records may carry."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)
