"""Leftover folders of interrupted runs: the hidden ``runs/.tmp-*`` folder a training killed while saving
leaves behind (and a ``.deleting-*`` one of a killed deletion) is counted by the disk usage and removed by
prune and ``metalora runs prune``, but never a ``.tmp-*`` folder a training still running may be writing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from metalora.training.run_registry import RunRegistry
from metalora.training.run_upkeep import LEFTOVER_AGE_S
from tests.test_reliability_kill import DRIVER, _child, _sigkill, _wait_for
from tests.test_run_registry import _run_with_folder, record

HERE = socket.gethostname()


def hidden(reg: RunRegistry, name: str, size: int, age_s: float = 0.0):
    """A hidden folder ``name`` under ``runs/`` with one file of ``size`` bytes, last changed ``age_s`` ago."""
    folder = reg.runs_dir / name
    folder.mkdir()
    (folder / "adapter_model.safetensors").write_bytes(b"x" * size)
    if age_s:
        then = time.time() - age_s
        for p in (folder / "adapter_model.safetensors", folder):
            os.utime(p, (then, then))
    return folder


def training_now(reg: RunRegistry) -> int:
    """A run recorded as running by this (living) process."""
    return reg.add(record(status="running", config={"process": {"host": HERE, "pid": os.getpid()}}))


def dead_pid() -> int:
    return int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout
    )


def test_stale_leftovers_are_counted_and_pruned_but_a_folder_being_written_is_kept(tmp_path):
    reg = RunRegistry(tmp_path)
    _run_with_folder(reg, "2999-01-01T00:00:00+00:00", 1000)
    training = training_now(reg)
    stale = hidden(reg, ".tmp-20260101-000000-meta-tr-s0-1234abcd-x1y2", 5000, age_s=LEFTOVER_AGE_S + 60)
    deleting = hidden(reg, ".deleting-20260101-000000-lora-s1-5678abcd-1a2b3c", 700)
    fresh = hidden(reg, ".tmp-20260102-000000-lora-s2-9999abcd-z9", 300)  # a training may be writing it
    assert set(reg.leftovers()) == {stale, deleting} and reg.leftovers()[stale] == 5000
    use = reg.disk_usage()
    assert use["leftovers"] == 5700 and use["leftover_folders"] == 2
    assert use["runs"] == 1000 + 300  # the run folder and the folder being written
    assert use["total"] == use["runs"] + use["registry"] + use["leftovers"]

    reg.prune(older_than_days=36500)  # no run that old: only the leftovers go
    assert not stale.exists() and not deleting.exists() and fresh.is_dir()
    assert reg.count() == 2 and reg.get(training)["status"] == "running"
    assert reg.disk_usage()["leftover_folders"] == 0

    os.utime(fresh / "adapter_model.safetensors")  # it is being written: changed now, even if made long ago
    then = time.time() - 2 * LEFTOVER_AGE_S
    os.utime(fresh, (then, then))
    assert reg.leftovers() == {}, "a file changed now: not a leftover while a run is training"


def test_a_fresh_folder_is_a_leftover_once_no_training_could_be_writing_it(tmp_path):
    reg = RunRegistry(tmp_path)
    killed = reg.add(record(status="running", config={"process": {"host": HERE, "pid": dead_pid()}}))
    elsewhere = reg.add(record(status="running", config={"process": {"host": "another-machine", "pid": 1}}))
    fresh = hidden(reg, ".tmp-20260102-000000-lora-s2-9999abcd-z9", 300)
    assert reg.leftovers() == {}, "a run of another machine may be writing it"
    reg.update(elsewhere, {"status": "completed"})
    # the run whose process is gone counts as interrupted, not as training, even in a registry opened
    # before it died (the dashboard's)
    with reg._write() as con:
        con.execute("UPDATE runs SET status = 'running' WHERE id = ?", (killed,))
    assert reg.leftovers() == {fresh: 300} and reg.get(killed)["status"] == "interrupted"
    assert reg.remove_leftovers(only=["some-other-folder"]) == (0, 0) and fresh.is_dir()
    assert reg.remove_leftovers(only=[fresh]) == (1, 300) and not fresh.exists()


def test_runs_du_and_prune_count_and_remove_the_leftovers(tmp_path):
    reg = RunRegistry(tmp_path)
    _run_with_folder(reg, "2020-01-01T00:00:00+00:00", 10)
    training_now(reg)  # a training of this process is running: the fresh folder is its own
    hidden(reg, ".tmp-a-x1", 2**20, age_s=2 * LEFTOVER_AGE_S)
    hidden(reg, ".tmp-b-x2", 2**20, age_s=2 * LEFTOVER_AGE_S)
    fresh = hidden(reg, ".tmp-c-x3", 10)
    cli = [sys.executable, "-m", "metalora", "runs"]

    def run(*args, **kw):
        return subprocess.run([*cli, *args, "--home", str(tmp_path)], capture_output=True, text=True, **kw)

    du = run("du", check=True)
    assert "leftover folders of interrupted runs 2.0 MiB (2:" in du.stdout and "2 run(s)" in du.stdout
    assert json.loads(run("du", "--json", check=True).stdout)["leftover_folders"] == 2
    asked = run("prune", "--older-than", "36500", stdin=subprocess.DEVNULL)
    assert asked.returncode == 1 and "2 leftover folder(s) of interrupted runs, 2.0 MiB would be removed" in (
        asked.stdout
    )
    assert ".tmp-a-x1" in asked.stdout and ".tmp-c-x3" not in asked.stdout
    assert "pass --yes" in asked.stdout and (tmp_path / "runs" / ".tmp-a-x1").is_dir()  # nothing removed
    done = run("prune", "--older-than", "36500", "--yes", check=True)
    assert "removed 2 leftover folder(s) of interrupted runs, 2.0 MiB" in done.stdout
    assert "deleted" not in done.stdout and reg.count() == 2  # no run was old enough
    assert not (tmp_path / "runs" / ".tmp-a-x1").exists() and fresh.is_dir()
    assert run("prune", "--older-than", "36500", check=True).stdout == "nothing to clean up\n"


def test_a_training_killed_while_saving_leaves_a_leftover_that_prune_removes(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    home = tmp_path / "home"
    with _child("save", home, script) as proc:
        _wait_for(proc, "SAVING")  # its adapter files are written, run.json not yet
        reg = RunRegistry(home)
        (writing,) = [p for p in reg.runs_dir.iterdir() if p.name.startswith(".tmp-")]
        assert reg.leftovers() == {} and reg.disk_usage()["leftover_folders"] == 0, "being written: kept"
        reg.prune(keep_last=0)
        assert writing.is_dir(), "prune never removes the folder of a training still running"
        _sigkill(proc)
    reg = RunRegistry(home)  # what the next dashboard or command line opens
    assert [r["status"] for r in reg.list()] == ["interrupted"] and writing.is_dir()
    use = reg.disk_usage()
    assert use["leftover_folders"] == 1 and use["leftovers"] > 0 and use["runs"] == 0
    reg.prune(older_than_days=36500)
    assert not writing.exists() and reg.disk_usage()["leftover_folders"] == 0


@pytest.mark.parametrize("prefix", [".tmp-", ".deleting-"])
def test_a_link_named_like_a_leftover_is_never_followed(tmp_path, prefix):
    reg = RunRegistry(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (reg.runs_dir / f"{prefix}link").symlink_to(outside, target_is_directory=True)
    assert reg.leftovers() == {}
    reg.prune(older_than_days=0)
    assert (outside / "keep.txt").read_text() == "keep"
