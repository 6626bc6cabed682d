"""A training process killed with SIGKILL leaves the data folder consistent.

One tiny run finishes first; a second one is killed (a) while training and (b) while its run folder
is being written. Afterwards the registry opens cleanly, the finished run is intact and loadable, the
killed run is listed as ``interrupted`` (it was ``running`` until its process died), and no partial run
folder is visible: ``run_folder.save_run_folder`` writes into a ``.tmp-<name>-*``
folder beside the final place and renames it in one step, so a kill can only leave such a hidden
temp folder, which has no registry row and which nothing lists.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from metalora.models import resolve_model
from metalora.training.methods import load_trained
from metalora.training.run_folder import RUN_CONFIG, read_run_config
from metalora.training.run_registry import DB_NAME, RunRegistry

ROOT = Path(__file__).resolve().parents[1]

DRIVER = textwrap.dedent(
    """
    import sys, time
    import torch
    torch.set_num_threads(1)
    from metalora.training import run_folder
    from metalora.training.loop import TrainConfig
    from metalora.training.run_registry import RunRegistry
    from metalora.data import DataSpec
    from metalora.training.run import train_run

    mode = sys.argv[1]
    spec = DataSpec("digits", ("clean", "inverted"), image_size=16, samples_per_class=10)
    config = TrainConfig(epochs=1 if mode == "full" else 50, batch_size=16, device="cpu")

    def marker(text):
        print(text, flush=True)

    def on_progress(p):
        if mode == "train":
            marker("TRAINING")
            time.sleep(0.05)  # slow enough for the kill to land mid-training

    if mode == "save":
        config = TrainConfig(epochs=1, batch_size=16, device="cpu")
        real = run_folder.save_trained

        def slow_save(net, method, folder):
            out = real(net, method, folder)  # the adapter files are written, run.json not yet
            marker("SAVING")
            time.sleep(60)
            return out

        run_folder.save_trained = slow_save

    train_run("arch:resnet-mini", spec, "meta-cp", config, rank=2, registry=RunRegistry(), callback=on_progress)
    marker("DONE")
    """
)


def _start(mode: str, home: Path, script: Path) -> subprocess.Popen:
    env = {**os.environ, "METALORA_HOME": str(home), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


@contextlib.contextmanager
def _child(mode: str, home: Path, script: Path) -> Iterator[subprocess.Popen]:
    """The driver started in ``mode``; killed if still alive and its pipes closed on the way out."""
    proc = _start(mode, home, script)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def _sigkill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.strip() == marker:
            return
        if not line and proc.poll() is not None:
            break
    proc.kill()
    pytest.fail(f"no {marker!r} from the child (exit {proc.poll()}): {proc.stderr.read()[-2000:]}")


def _check_consistent(home: Path, first: dict) -> list[str]:
    """The registry opens, the finished run is intact, the killed one is shown as interrupted and has no
    folder; returns the hidden names."""
    registry = RunRegistry(home)  # raises FileFormatError if the database were damaged
    runs = registry.list(newest_first=False)
    assert runs[0]["id"] == first["id"] and runs[0]["status"] == "completed"
    assert runs[0]["accuracy"] == first["accuracy"]
    killed = runs[1:]
    assert killed and all(r["status"] == "interrupted" and not r["adapter_path"] for r in killed), killed
    assert all("stopped" in r["error"] for r in killed)  # says what happened, not silently missing
    for r in killed:  # the next session's page lists it, with nothing to load
        registry.delete(r["id"])
    visible = sorted(p for p in registry.runs_dir.iterdir() if not p.name.startswith("."))
    assert all((p / RUN_CONFIG).is_file() for p in visible)
    assert visible == [Path(first["adapter_path"])]  # no other, partial, run folder
    folder = visible[0]
    assert read_run_config(folder)["status"] == "completed"
    spec = read_run_config(folder)["config"]
    base, _ = resolve_model(spec["model"], _splits(spec))
    model = load_trained(base, folder)  # the saved files are whole and load
    assert all(torch.isfinite(p).all() for p in model.parameters())
    hidden = sorted(p.name for p in registry.runs_dir.iterdir() if p.name.startswith("."))
    for name in hidden:  # only the runner's own temp folders, never mistaken for runs
        assert name.startswith(".tmp-"), name
    with registry._connect() as con:  # the SQLite file passes its own integrity check
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return hidden


def _splits(config: dict):
    from metalora.data import DataSpec

    return DataSpec.from_dict(config["data"]).load()


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A data folder with one finished run (trained in a child process)."""
    home = tmp_path_factory.mktemp("home")
    script = home.parent / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), "full"],
        capture_output=True,
        text=True,
        env={**os.environ, "METALORA_HOME": str(home), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=180,
    )
    assert done.returncode == 0 and "DONE" in done.stdout, done.stderr[-2000:]
    (run,) = RunRegistry(home).list()
    return home, script, run


@pytest.mark.parametrize("mode", ["train", "save"])
def test_sigkill_leaves_no_partial_run_and_a_clean_registry(finished, mode, tmp_path):
    home, script, first = finished
    with _child(mode, home, script) as proc:
        _wait_for(proc, "TRAINING" if mode == "train" else "SAVING")
        _sigkill(proc)
    assert proc.returncode == -signal.SIGKILL
    assert (home / DB_NAME).is_file()
    hidden = _check_consistent(home, first)
    if mode == "save":  # killed between writing the files and the rename: the temp folder stays hidden
        assert any(h.startswith(".tmp-") for h in hidden)
