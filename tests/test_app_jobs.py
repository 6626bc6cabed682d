"""The training job's thread: whatever fails in it ends the job as FAILED with a message.

A job on a device that does not exist used to die in its thread before its ``try`` (while taking the
device's lock), so it stayed "waiting" forever and Start / Run the demo stayed disabled.
"""

from __future__ import annotations

import sys
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


def wait_until(condition, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_waiting_jobs_wait_in_line_first_come_first_served_and_know_their_place(tiny_data):
    import threading

    from app.jobs import RUNNING, WAITING, device_lock

    lock = device_lock("cpu")
    lock.acquire()  # a training holds the processor
    go = threading.Event()
    base = build_model("resnet-mini", in_channels=1, num_classes=10)

    def held_base():  # the first job, once it has the processor, waits here until the test looks
        go.wait(30)
        return base

    try:
        line = []
        for _ in range(3):
            line.append(job_on("cpu", tiny_data).start())
            wait_until(lambda: line[-1].queue_place() is not None)  # in line before the next one comes
        assert [j.queue_place() for j in line] == [2, 3, 4]  # the training running now is the 1st
        line[1].cancel()  # the middle one leaves the line
        assert line[1].join(10) and line[1].status == CANCELLED and line[1].queue_place() is None
        assert [line[0].queue_place(), line[2].queue_place()] == [2, 3]
        line[0].make_base = held_base
    finally:
        lock.release()
    first, last = line[0], line[2]
    wait_until(lambda: first.status == RUNNING)
    assert first.queue_place() is None and last.status == WAITING and last.queue_place() == 2
    go.set()
    assert first.join(120) and last.join(120)
    assert first.status == last.status == DONE, (first.error, last.error)
    assert first.records[0].id < last.records[0].id, "the first in line trained first"


def test_the_place_in_line_reads_as_an_ordinal():
    from app.progress import ordinal

    assert [ordinal(n, "en") for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th",
    ]  # fmt: skip
    assert ordinal(2, "ja") == "2"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_a_training_yields_the_processor_to_the_pages(tiny_data):
    import os
    import threading

    from app import jobs

    seen = {}
    job = job_on("cpu", tiny_data)
    base = job.make_base

    def spy():
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return base()

    job.make_base = spy
    assert job.start().join(120) and job.status == DONE, job.error
    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert jobs.TRAIN_NICE > 0 and seen["nice"] == max(here, jobs.TRAIN_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == here, "only the job's thread"


def test_the_training_curves_show_whole_epochs_and_accuracy_in_percent(tiny_data):
    """The curves' axes read as a manager reads them: epochs 0, 1, 2, 3 (not 0.187, 0.387) and accuracy in %."""
    from app.jobs import CurvePoint
    from app.progress import curves_figure

    job = job_on("cpu", tiny_data)
    job.tasks = [replace(job.tasks[0], train=replace(job.tasks[0].train, epochs=3))]
    job.points = [CurvePoint(0, x, 2.0 - x / 2, 0.2 + x / 5, None) for x in (0.187, 0.387, 1.5, 3.0)]
    fig = curves_figure(job)
    assert fig.layout.xaxis.dtick == 1 and tuple(fig.layout.xaxis.range) == (0, 3)
    assert fig.layout.yaxis2.tickformat == ".0%" and tuple(fig.layout.yaxis2.tickvals) == (
        0,
        0.25,
        0.5,
        0.75,
        1,
    )
    assert "%{y:.1%}" in fig.data[1].hovertemplate


def test_the_time_left_starts_from_the_measured_demo_and_follows_the_pace(tiny_data):
    from app.jobs import RUNNING, TRUST_PROGRESS

    job = job_on("cpu", tiny_data)
    job.expected_s = 20.0
    assert job.time_left() is None, "nothing is promised before the training starts"
    job.status, job.running_since = RUNNING, 100.0
    assert job.time_left(now=101.0) == pytest.approx(19.0), "from the first second: the measured demo"
    job.fraction = 0.5 * TRUST_PROGRESS  # halfway to trusting the pace: half prior, half pace
    paced = 10.0 / job.overall - 10.0
    assert job.time_left(now=110.0) == pytest.approx(0.5 * paced + 0.5 * 10.0)
    job.fraction = 0.5  # the pace alone: 10 s for half of the work, 10 s to go
    assert job.time_left(now=110.0) == pytest.approx(10.0)
    job.expected_s = None
    job.fraction = 0.0
    assert job.time_left(now=110.0) is None, "no prior and no progress: no guess"


def test_a_job_that_succeeds_reports_its_training_time_and_one_that_fails_does_not(tiny_data):
    seen: list[float] = []
    job = job_on("cpu", tiny_data)
    job.on_done = seen.append
    assert job.start().join(120) and job.status == DONE, job.error
    assert len(seen) == 1 and 0 < seen[0] < 120
    failed = replace_base(job_on("cpu", tiny_data), lambda: 1 / 0)
    failed.on_done = seen.append
    assert failed.start().join(30) and failed.status == FAILED
    assert len(seen) == 1, "a failed training is not a demo's time"

    def broken(seconds: float) -> None:
        raise OSError("disk full")

    job = job_on("cpu", tiny_data)
    job.on_done = broken
    assert job.start().join(120)
    assert job.status == DONE, "a failing stopwatch does not fail the training"


def test_the_time_left_reads_as_people_say_it():
    from app.progress import duration

    assert duration(2, "en") == "a few seconds"
    assert duration(18, "en") == "about 20 s" and duration(18, "ja") == "約 20 秒"
    assert duration(200, "en") == "about 3 min" and duration(200, "ja") == "約 3 分"
