"""Running out of GPU memory, simulated on CPU: a forward pass raises ``torch.cuda.OutOfMemoryError``.

The user gets a :class:`TrainingError` that suggests a smaller batch size or rank, whether it happens
in a training step or in the final test evaluation, alone or on one rank of a ``torchrun`` job; the
model keeps its best weights so far, no run folder is written, and a dashboard job shows the message
and leaves the device free for the next job. (Non-finite pixels reaching ``fit`` are covered by
``tests/test_training_loop.py::test_non_finite_inputs_are_detected``.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from torch import nn

from metalora.data import DataSpec
from metalora.errors import TrainingError
from metalora.training.loop import TrainConfig, fit
from metalora.training.run import train_run
from metalora.training.run_registry import RunRegistry

ROOT = Path(__file__).resolve().parents[1]
SPEC = DataSpec("digits", ("clean", "inverted"), image_size=16, samples_per_class=10)
CONFIG = TrainConfig(epochs=2, batch_size=16, device="cpu", progress_every=1)
OOM_TEXT = "CUDA out of memory. Tried to allocate 2.00 GiB (simulated)"


class OOMNet(nn.Module):
    """A small classifier whose ``fail_at``-th training forward (counted over all copies) runs out of memory,
    as does every evaluation forward while ``eval_fails`` is set."""

    counter: ClassVar[dict[str, int]] = {"n": 0, "fail_at": 0, "eval_fails": 0}

    def __init__(self, channels: int, classes: int):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(channels, 4, 3, padding=1)
        self.fc = nn.Linear(4, classes)

    def forward(self, x):
        if self.training:
            OOMNet.counter["n"] += 1
            if OOMNet.counter["n"] == OOMNet.counter["fail_at"]:
                raise torch.cuda.OutOfMemoryError(OOM_TEXT)
        elif OOMNet.counter["eval_fails"]:
            raise torch.cuda.OutOfMemoryError(OOM_TEXT)
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


@pytest.fixture
def oom_on(monkeypatch):
    """``oom_on(k)``: the k-th training forward pass from now on raises; 0 never."""

    def arm(k: int) -> None:
        monkeypatch.setitem(OOMNet.counter, "n", 0)
        monkeypatch.setitem(OOMNet.counter, "fail_at", k)
        monkeypatch.setitem(OOMNet.counter, "eval_fails", 0)

    return arm


def _fail_the_test_evaluation(progress) -> None:
    """A ``fit`` callback: once the last epoch is validated, every evaluation forward runs out of memory."""
    if progress.epoch_end and progress.epoch == progress.epochs:
        OOMNet.counter["eval_fails"] = 1  # reset by the ``oom_on`` fixture


@pytest.fixture(scope="module")
def splits():
    return SPEC.load()


def _net(splits) -> OOMNet:
    return OOMNet(splits.train.channels, splits.train.num_classes)


def _assert_oom_message(err: BaseException, where: str = "at epoch 1, step") -> None:
    text = str(err)
    assert isinstance(err, TrainingError)
    assert "Out of memory" in text and where in text
    assert "smaller batch size (try 8)" in text and "rank" in text


TEST_EVALUATION = "while evaluating the best epoch"


def test_fit_turns_cuda_oom_into_a_training_error_and_keeps_the_starting_weights(splits, oom_on):
    model = _net(splits)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    oom_on(2)
    with pytest.raises(TrainingError) as info:
        fit(model, splits, CONFIG)
    _assert_oom_message(info.value)
    assert "step 2" in str(info.value) and "starting weights" in str(info.value)
    assert not model.training
    for k, v in model.state_dict().items():  # step 1 changed them; they were restored
        assert torch.equal(v, start[k]), k


def test_oom_in_a_later_epoch_keeps_the_best_epoch(splits, oom_on):
    steps = -(-len(splits.train) // CONFIG.batch_size)
    oom_on(steps + 2)  # epoch 2, step 2
    with pytest.raises(TrainingError, match=r"epoch 2, step 2.*best epoch so far \(1\)"):
        fit(_net(splits), splits, CONFIG)


def test_oom_in_the_final_test_evaluation_keeps_the_best_epoch(splits, oom_on):
    model, at_end = _net(splits), {}

    def callback(progress) -> None:
        if progress.epoch_end:
            at_end[progress.epoch] = {k: v.clone() for k, v in model.state_dict().items()}
        _fail_the_test_evaluation(progress)

    oom_on(0)
    with pytest.raises(TrainingError) as info:
        fit(model, splits, CONFIG, callback=callback)
    _assert_oom_message(info.value, f"{TEST_EVALUATION} (")
    assert "on the test split" in str(info.value) and "The model keeps the best epoch" in str(info.value)
    best = int(re.search(r"best epoch \((\d+)\) on the test split", str(info.value)).group(1))
    assert not model.training
    for k, v in model.state_dict().items():  # the best epoch's weights, not the last ones
        assert torch.equal(v, at_end[best][k]), k


@pytest.mark.parametrize("phase", ["training", "test evaluation"])
def test_train_run_records_the_failure_and_writes_no_folder(splits, oom_on, tmp_path, phase):
    registry = RunRegistry(tmp_path)
    oom_on(2 if phase == "training" else 0)
    callback = _fail_the_test_evaluation if phase == "test evaluation" else None
    with pytest.raises(TrainingError) as info:
        train_run(
            _net(splits),
            SPEC,
            "meta-cp",
            CONFIG,
            rank=2,
            registry=registry,
            model_name="oom-net",
            callback=callback,
        )
    _assert_oom_message(info.value, "at epoch 1, step" if phase == "training" else TEST_EVALUATION)
    (row,) = registry.list()
    assert row["status"] == "failed" and "Out of memory" in row["error"] and not row.get("adapter_path")
    assert list(registry.runs_dir.iterdir()) == []  # no folder, not even a temp one


def test_dashboard_job_shows_the_message_and_the_next_job_runs(splits, oom_on, tmp_path, monkeypatch):
    monkeypatch.setenv("METALORA_HOME", str(tmp_path))
    from app.jobs import DONE, FAILED, TrainingJob
    from app.session_runs import TrainTask

    task = TrainTask("meta-cp", rank=2, train=CONFIG)
    oom_on(2)
    job = TrainingJob([task], lambda: _net(splits), splits, "oom-net", "digits").start()
    assert job.join(120)
    assert job.status == FAILED and not job.error_unexpected  # a user message, not a traceback
    _assert_oom_message(TrainingError(job.error))
    oom_on(0)
    again = TrainingJob([task], lambda: _net(splits), splits, "oom-net", "digits").start()
    assert again.join(120) and again.status == DONE, again.error  # the device lock was released
    rows = RunRegistry(tmp_path).list(newest_first=False)
    assert [r["status"] for r in rows] == ["failed", "completed"]
    assert job.failed_ids == [rows[0]["id"]]  # the failed run is known to the job (and so to its session)


def test_oom_in_the_first_probe_is_not_mistaken_for_a_wrong_model(splits, tmp_path, monkeypatch):
    """``train_run`` first runs the model on one image; an OOM there used to read "cannot run on these images"."""

    def always(self, x):
        raise torch.cuda.OutOfMemoryError(OOM_TEXT)

    monkeypatch.setattr(OOMNet, "forward", always)
    registry = RunRegistry(tmp_path)
    with pytest.raises(
        TrainingError, match=r"Out of memory on cpu while running the model on one image\. Close"
    ):
        train_run(_net(splits), SPEC, "meta-cp", CONFIG, rank=2, registry=registry, model_name="oom-net")
    assert registry.list() == [] and list(registry.runs_dir.iterdir()) == []


TORCHRUN_SCRIPT = r'''
import torch
from torch import nn

from metalora.errors import TrainingError
from metalora.training import distributed
from metalora.training.loop import TrainConfig, fit
from metalora.data import DataSpec


class Net(nn.Module):
    """Runs out of memory on rank 1 only, at its ``fail = (training, n)``-th forward pass of that mode."""

    def __init__(self, channels, classes, fail):
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.fc = nn.Conv2d(channels, 4, 3, padding=1), nn.Linear(4, classes)
        self.fail, self.calls = fail, {True: 0, False: 0}

    def forward(self, x):
        self.calls[self.training] += 1
        if info.index == 1 and (self.training, self.calls[self.training]) == self.fail:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


info = distributed.from_env()
device = distributed.setup(info, "cpu")
splits = DataSpec("digits", ("clean", "inverted"), image_size=16, samples_per_class=10).load()
config = TrainConfig(epochs=2, batch_size=16, device="cpu")
# training step 2; then the 3rd evaluation = the test, after the validations of epochs 1 and 2
with open(f"rank{info.index}.txt", "w") as out:  # one file per rank: their stdout lines may interleave
    for phase, fail in (("training", (True, 2)), ("test", (False, 3))):
        try:
            fit(Net(splits.train.channels, splits.train.num_classes, fail), splits, config, device=device)
            out.write(f"{phase}: finished\n")
        except TrainingError as err:
            out.write(f"{phase}: {err}\n")
distributed.shutdown()
'''


@pytest.mark.slow
def test_oom_on_one_torchrun_rank_stops_every_rank_with_the_message(tmp_path):
    """Rank 1 runs out of memory (in a training step, then in the test evaluation); rank 0 does not. Both
    ranks must raise the same :class:`TrainingError` instead of one waiting forever in a collective."""
    script = tmp_path / "oom_on_rank_1.py"
    script.write_text(TORCHRUN_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    for rank in (0, 1):
        training, test = (tmp_path / f"rank{rank}.txt").read_text().splitlines()
        _assert_oom_message(TrainingError(training), "training: Out of memory on cpu at epoch 1, step 2")
        _assert_oom_message(TrainingError(test), f"test: Out of memory on cpu {TEST_EVALUATION}")
