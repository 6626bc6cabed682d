"""The SQLite run registry: fields round trip, filters, delete, CSV, corruption, concurrent writers."""

from __future__ import annotations

import csv
import io
import multiprocessing as mp
import os
import socket
import sqlite3
import sys

import pytest

from metalora.errors import FileFormatError, MetaLoRAError
from metalora.training.run_registry import COLUMNS, RunNotFoundError, RunRegistry, default_home


def record(**over) -> dict:
    r = {
        "model": "sample:resnet-mini-digits",
        "dataset": "digits",
        "domains": ["clean", "inverted"],
        "method": "meta-tr",
        "rank": 4,
        "seed": 0,
        "config": {"train": {"epochs": 1, "lr": 0.01}},
        "metrics": {
            "test": {
                "accuracy": 0.9,
                "per_domain": {"clean": 0.95, "inverted": 0.85},
                "per_class": {"0": 1.0},
            },
            "history": [{"epoch": 1, "val_acc": 0.88}],
        },
        "accuracy": 0.9,
        "trainable_params": 1234,
        "total_params": 99999,
        "flops": 12_000_000,
        "train_time_s": 3.5,
        "peak_memory_bytes": 2**20,
        "device": "cpu",
        "versions": {"torch": "2.x"},
    }
    r.update(over)
    return r


def test_default_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("METALORA_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"
    reg = RunRegistry()
    assert reg.db_path == tmp_path / "h" / "runs.sqlite" and reg.runs_dir.is_dir()


def test_add_get_round_trips_every_field(tmp_path):
    reg = RunRegistry(tmp_path)
    run_id = reg.add(record())
    got = reg.get(run_id)
    assert got["id"] == run_id and got["status"] == "completed" and got["created"]
    for key, value in record().items():
        assert got[key] == value, key
    assert set(got) == {"id", *COLUMNS}


def test_wal_mode(tmp_path):
    RunRegistry(tmp_path)
    con = sqlite3.connect(tmp_path / "runs.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_list_filters_and_order(tmp_path):
    reg = RunRegistry(tmp_path / "reg.sqlite")  # a file path names the data folder too
    assert reg.home == tmp_path
    ids = [reg.add(record(method=m, seed=s)) for m in ("lora", "meta-tr") for s in (0, 1)]
    assert [r["id"] for r in reg.list()] == ids[::-1]
    assert [r["id"] for r in reg.list(newest_first=False, method="lora")] == ids[:2]
    assert [r["id"] for r in reg.list(method="meta-tr", seed=1)] == [ids[3]]
    assert len(reg.list(limit=1)) == 1
    with pytest.raises(MetaLoRAError, match="Cannot filter"):
        reg.list(colour="red")


def test_unknown_fields_and_ids_are_refused(tmp_path):
    reg = RunRegistry(tmp_path)
    with pytest.raises(MetaLoRAError, match="Unknown run record fields"):
        reg.add({"method": "lora", "bogus": 1})
    with pytest.raises(RunNotFoundError, match="No run with id 7"):
        reg.get(7)
    with pytest.raises(RunNotFoundError):
        reg.get("1; DROP TABLE runs")
    assert reg.count() == 0


def test_delete_removes_row_and_own_folder_only(tmp_path):
    reg = RunRegistry(tmp_path / "home")
    inside = reg.runs_dir / "run-a"
    inside.mkdir()
    (inside / "adapter_model.safetensors").write_bytes(b"x")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    a = reg.add(record(adapter_path=str(inside)))
    b = reg.add(record(adapter_path=str(outside)))
    c = reg.add(record(adapter_path=str(reg.home)))
    reg.delete(a)
    assert not inside.exists()
    assert not any(p.name.startswith(".deleting") for p in reg.runs_dir.iterdir())
    reg.delete(b)
    reg.delete(c)
    assert (outside / "keep.txt").read_text() == "keep"  # outside the data folder: never touched
    assert reg.home.is_dir() and reg.db_path.is_file()
    assert reg.count() == 0
    with pytest.raises(RunNotFoundError):
        reg.delete(a)


def test_export_csv(tmp_path):
    reg = RunRegistry(tmp_path)
    reg.add(record())
    reg.add(record(method="lora", status="failed", error="diverged", metrics={"error": "diverged"}))
    buf = io.StringIO()
    assert reg.export_csv(buf) == 2
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [r["method"] for r in rows] == ["meta-tr", "lora"]
    assert float(rows[0]["acc_inverted"]) == 0.85 and rows[1]["acc_inverted"] == ""
    assert rows[1]["status"] == "failed" and rows[1]["error"] == "diverged"
    path = tmp_path / "runs.csv"
    reg.export_csv(path, method="lora")
    assert len(list(csv.DictReader(path.open()))) == 1
    assert reg.to_csv_string().count("\n") == 3


@pytest.mark.parametrize(
    "content", [b"this is not a database at all" * 10, b"SQLite format 3\x00" + b"\xff" * 4000]
)
def test_corrupt_file_gives_a_clear_error_and_is_kept(tmp_path, content):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(content)
    with pytest.raises(FileFormatError) as err:
        RunRegistry(tmp_path)
    msg = str(err.value)
    assert str(path) in msg and "Nothing was deleted" in msg and "Move the file aside" in msg
    assert path.read_bytes() == content  # never deleted or rewritten


def _writer(home: str, worker: int, n: int) -> None:
    reg = RunRegistry(home)
    for i in range(n):
        reg.add(record(seed=worker * 100_000 + i, method=f"w{worker}"))


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    RunRegistry(tmp_path)  # create the schema first, as a dashboard would
    n = 200
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, n)) for w in (1, 2)]
    for p in procs:
        p.start()
    _writer(str(tmp_path), 3, n)  # and this process too
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    reg = RunRegistry(tmp_path)
    runs = reg.list(newest_first=False)
    assert len(runs) == 3 * n
    assert len({r["id"] for r in runs}) == 3 * n
    for w in (1, 2, 3):
        seeds = [r["seed"] for r in runs if r["method"] == f"w{w}"]
        assert seeds == [w * 100_000 + i for i in range(n)]  # every write, in each writer's order


def _run_with_folder(reg: RunRegistry, created: str, size: int) -> int:
    folder = reg.runs_dir / f"run-{created}"
    folder.mkdir()
    (folder / "adapter_model.safetensors").write_bytes(b"x" * size)
    return reg.add(record(created=created, adapter_path=str(folder)))


def test_disk_usage_and_prune_by_age_and_count(tmp_path):
    reg = RunRegistry(tmp_path)
    old = _run_with_folder(reg, "2020-01-01T00:00:00+00:00", 5000)
    mid = _run_with_folder(reg, "2026-01-01T00:00:00+00:00", 3000)
    new = _run_with_folder(reg, "2999-01-01T00:00:00+00:00", 1000)  # "newest": created in the future
    use = reg.disk_usage()
    assert use["runs"] == 9000 and use["registry"] > 0 and use["total"] == use["runs"] + use["registry"]
    with pytest.raises(MetaLoRAError, match="which runs"):
        reg.prune_candidates()
    assert [r["id"] for r in reg.prune_candidates(keep_last=2)] == [old]
    assert {r["id"] for r in reg.prune_candidates(older_than_days=365 * 3)} == {old}
    assert reg.count() == 3  # candidates only list
    gone = reg.prune(older_than_days=0, keep_last=2)  # either rule: every past run goes
    assert {r["id"] for r in gone} == {old, mid} and [r["id"] for r in reg.list()] == [new]
    assert reg.disk_usage()["runs"] == 1000 and not (reg.runs_dir / "run-2020-01-01T00:00:00+00:00").exists()


def test_prune_leaves_running_runs_alone_and_each_run_has_its_size(tmp_path):
    reg = RunRegistry(tmp_path)
    old = _run_with_folder(reg, "2020-01-01T00:00:00+00:00", 5000)
    here = {"process": {"host": socket.gethostname(), "pid": os.getpid()}}  # this process: alive
    training = reg.add(record(created="2020-01-02T00:00:00+00:00", status="running", config=here))
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    outside.mkdir()
    (outside / "adapter_model.safetensors").write_bytes(b"x" * 700)
    foreign = reg.add(record(created="2020-01-03T00:00:00+00:00", adapter_path=str(outside)))
    new = _run_with_folder(reg, "2999-01-01T00:00:00+00:00", 1000)
    sizes = {r["id"]: reg.run_bytes(r) for r in reg.list()}
    assert sizes == {old: 5000, training: 0, foreign: 0, new: 1000}  # a folder outside frees nothing
    assert [r["id"] for r in reg.prune_candidates(keep_last=1)] == [foreign, old]  # not the running one
    assert {r["id"] for r in reg.prune_candidates(older_than_days=1)} == {old, foreign}
    reg.prune(keep_last=0)
    assert [r["id"] for r in reg.list()] == [training] and (outside / "adapter_model.safetensors").exists()


def test_runs_du_and_prune_from_the_command_line_ask_first(tmp_path):
    import subprocess

    reg = RunRegistry(tmp_path)
    _run_with_folder(reg, "2020-01-01T00:00:00+00:00", 2**20)
    _run_with_folder(reg, "2999-01-01T00:00:00+00:00", 10)
    cli = [sys.executable, "-m", "metalora", "runs"]
    du = subprocess.run([*cli, "du", "--home", str(tmp_path)], capture_output=True, text=True, check=True)
    assert "2 run(s)" in du.stdout and "run folders 1.0 MiB" in du.stdout
    asked = subprocess.run(
        [*cli, "prune", "--keep-last", "1", "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert asked.returncode == 1 and "pass --yes" in asked.stdout and reg.count() == 2  # nothing deleted
    done = subprocess.run(
        [*cli, "prune", "--keep-last", "1", "--yes", "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "deleted 1 run(s), freed 1.0 MiB" in done.stdout and reg.count() == 1


def test_a_running_run_whose_process_died_is_marked_interrupted_on_open(tmp_path):
    import socket
    import subprocess

    reg = RunRegistry(tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    here = socket.gethostname()
    gone = reg.add(record(status="running", config={"process": {"host": here, "pid": int(dead.stdout)}}))
    alive = reg.add(record(status="running", config={"process": {"host": here, "pid": os.getpid()}}))
    elsewhere = reg.add(record(status="running", config={"process": {"host": "another-machine", "pid": 1}}))
    again = RunRegistry(tmp_path)  # what a restarted dashboard does
    status = {r["id"]: r["status"] for r in again.list()}
    assert status == {gone: "interrupted", alive: "running", elsewhere: "running"}
    assert "stopped" in again.get(gone)["error"]
    with pytest.raises(RunNotFoundError):
        again.update(9999, {"status": "failed"})
