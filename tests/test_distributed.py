"""Training under torchrun: the same ``fit`` alone and in a process group (gloo on CPU); with 2 processes,
one registry row and metrics reduced across ranks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from metalora.data import DataSpec
from metalora.models import build_model
from metalora.training import TrainConfig, distributed, fit
from metalora.training.distributed import DistInfo, from_env
from metalora.training.run_registry import RunRegistry

ROOT = Path(__file__).resolve().parents[1]
SPEC = DataSpec("digits", ("clean", "inverted"), image_size=16, samples_per_class=10)


def _tiny(splits) -> torch.nn.Module:
    torch.manual_seed(0)
    channels, classes = splits.train.channels, splits.train.num_classes
    return build_model("resnet-mini", in_channels=channels, num_classes=classes, widths=(4, 8))


def _timeless(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k not in ("time_s", "samples_per_s")} for h in history]


def test_job_is_read_from_the_environment():
    assert from_env({}) is None
    assert from_env({"WORLD_SIZE": "1", "RANK": "0"}) is None
    assert from_env({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"}) == DistInfo(2, 4, 0)
    assert from_env({"WORLD_SIZE": "2", "RANK": "0"}).is_main
    assert from_env({"WORLD_SIZE": "two"}) is None


def test_without_a_process_group_the_helpers_are_the_identity():
    model = _tiny(SPEC.load())
    assert not distributed.active() and distributed.process_and_world() == (0, 1)
    assert distributed.wrap(model, torch.device("cpu")) is model
    assert distributed.all_reduce([1.5, 2]).tolist() == [1.5, 2.0]
    assert distributed.describe(torch.device("cpu")) == "cpu"


@pytest.fixture
def group_of_one(tmp_path):
    """An in-process gloo group of one rank: ``fit`` takes its distributed branch (DDP, all-reduces)."""
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        yield
    finally:
        distributed.shutdown(wait=False)


def test_fit_in_a_group_of_one_equals_fit_alone(group_of_one):
    splits, config = SPEC.load(), TrainConfig(epochs=2, batch_size=16, lr=1e-2, seed=3, device="cpu")
    alone_model, group_model = _tiny(splits), _tiny(splits)
    in_group = fit(group_model, splits, config, device="cpu")
    assert distributed.active() and in_group.device == "cpu x1 (gloo)"
    distributed.shutdown(wait=False)
    alone = fit(alone_model, splits, config)
    assert alone.device == "cpu"
    assert _timeless(alone.history) == _timeless(in_group.history)
    assert (in_group.best_epoch, in_group.val, in_group.test) == (alone.best_epoch, alone.val, alone.test)
    for k, v in alone_model.state_dict().items():
        assert torch.equal(v, group_model.state_dict()[k]), k


@pytest.mark.slow
def test_torchrun_two_processes_record_one_run(tmp_path):
    env = {**os.environ, "METALORA_HOME": str(tmp_path), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "metalora", "train", "--model", "arch:resnet-mini", "--samples-per-class", "10",
        "--image-size", "16", "--epochs", "2", "--batch-size", "16", "--method", "meta-tr", "--rank", "2",
        "--device", "cpu",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("test accuracy") == 1  # only rank 0 prints the table
    reg = RunRegistry(tmp_path)
    (row,) = reg.list()  # recorded once
    assert row["status"] == "completed" and row["config"]["world_size"] == 2
    assert row["device"] == "cpu x2 (gloo)"
    spec = DataSpec(samples_per_class=10, image_size=16)
    splits = spec.load()
    test, val = row["metrics"]["test"], row["metrics"]["val"]
    assert test["n"] == len(splits.test) and val["n"] == len(splits.val)  # counts summed over both ranks
    assert 0 <= test["accuracy"] <= 1 and set(test["per_domain"]) == set(spec.domains)
    assert len(row["metrics"]["history"]) == 2
    assert [p.name for p in reg.runs_dir.iterdir()] == [Path(row["adapter_path"]).name]  # one folder
    # the reduced metrics equal a single-process evaluation of the saved model
    from metalora.models import resolve_model
    from metalora.training import evaluate
    from metalora.training.methods import load_trained

    base, _ = resolve_model("arch:resnet-mini", splits)
    model = load_trained(base, row["adapter_path"])
    single = evaluate(model, splits.test)
    assert single.accuracy == pytest.approx(test["accuracy"])
    assert single.loss == pytest.approx(test["loss"], rel=1e-4)
    assert single.per_domain == pytest.approx(test["per_domain"])
