"""Training under torchrun: 2 CPU processes (gloo), one registry row, metrics reduced across ranks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from metalora.training.distributed import DistInfo, from_env
from metalora.training.registry import RunRegistry
from metalora.training.runner import DataSpec

ROOT = Path(__file__).resolve().parents[1]


def test_job_is_read_from_the_environment():
    assert from_env({}) is None
    assert from_env({"WORLD_SIZE": "1", "RANK": "0"}) is None
    assert from_env({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"}) == DistInfo(2, 4, 0)
    assert from_env({"WORLD_SIZE": "2", "RANK": "0"}).is_main
    assert from_env({"WORLD_SIZE": "two"}) is None


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
    from metalora.training import evaluate
    from metalora.training.methods import load_trained
    from metalora.training.runner import resolve_model

    base, _ = resolve_model("arch:resnet-mini", splits)
    model = load_trained(base, row["adapter_path"])
    single = evaluate(model, splits.test)
    assert single.accuracy == pytest.approx(test["accuracy"])
    assert single.loss == pytest.approx(test["loss"], rel=1e-4)
    assert single.per_domain == pytest.approx(test["per_domain"])
