"""The training job's thread: whatever fails in it ends the job as FAILED with a message.

A job on a device that does not exist used to die in its thread before its ``try`` (while taking the
device's lock), so it stayed "waiting" forever and Start / Run the demo stayed disabled.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from app.devices import available_devices
from app.jobs import CANCELLED, DONE, FAILED, TrainingJob
from app.session_runs import TrainTask
from metalora.models import build_model
from metalora.training.demo import DEMO_DATA, DEMO_TRAIN_CONFIG


@pytest.fixture(scope="module")
def tiny_data():
    return replace(DEMO_DATA, samples_per_class=6).load()


@pytest.fixture(autouse=True)
def scratch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("METALORA_HOME", str(tmp_path / "home"))  # the run registry and run folders


def job_on(device: str, data) -> TrainingJob:
    base = build_model("resnet-mini", in_channels=1, num_classes=10)
    cfg = replace(DEMO_TRAIN_CONFIG, epochs=1, device=device)
    return TrainingJob(
        tasks=[TrainTask("lora", rank=2, train=cfg)],
        make_base=lambda: base,
        data=data,
        model_label="resnet-mini",
        data_label="digits",
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_a_job_on_a_missing_gpu_fails_with_a_message_and_the_next_one_runs(tiny_data):
    failed = job_on("cuda", tiny_data).start()
    assert failed.join(30), "the job's thread must end"
    assert failed.status == FAILED and not failed.active
    assert "CUDA" in (failed.error or "") and not failed.error_unexpected, failed.error
    after = job_on("cpu", tiny_data).start()
    assert after.join(120), "the next job must not wait for a lock the failed one left"
    assert after.status == DONE, after.error
    assert len(after.records) == 1


def test_an_unexpected_error_in_the_thread_is_a_failure_with_details(tiny_data):
    def broken():
        raise RuntimeError("simulated bug")

    job = replace_base(job_on("cpu", tiny_data), broken).start()
    assert job.join(30)
    assert job.status == FAILED and job.error_unexpected
    assert "simulated bug" in job.error and "Traceback" in (job.error_detail or "")


def test_cancel_while_waiting_for_the_device(tiny_data):
    from app.jobs import device_lock

    lock = device_lock("cpu")
    lock.acquire()
    try:
        job = job_on("cpu", tiny_data).start()
        job.cancel()
        assert job.join(10)
        assert job.status == CANCELLED
    finally:
        lock.release()


def replace_base(job: TrainingJob, make_base) -> TrainingJob:
    job.make_base = make_base
    return job


def test_available_devices_are_those_that_exist(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert available_devices("en") == {
        "auto": "Automatic (the fastest available)",
        "cpu": "CPU (the processor)",
    }
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(
        torch.cuda,
        "get_device_properties",
        lambda i=0: SimpleNamespace(name="NVIDIA H200", total_memory=141 * 2**30),
    )
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    devices = available_devices("ja")
    assert list(devices) == ["auto", "cpu", "cuda", "mps"]
    assert devices["cuda"] == "GPU：NVIDIA H200（141 GB）"
