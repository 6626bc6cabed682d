"""Two people on one server: each session keeps its own data, runs and training job."""

from __future__ import annotations

import pytest

from tests.app_support import environment, new_app, session_runs, tiny_env


@pytest.fixture(scope="module", autouse=True)
def tiny_demo(tmp_path_factory):
    with environment(tiny_env(tmp_path_factory.mktemp("sessions"))) as env:
        yield env


def test_a_second_session_sees_nothing_of_the_first():
    alice, bob = new_app(), new_app()
    alice.button(key="run_demo").click().run()  # Alice picks model and data and starts training
    job = alice.session_state["job"]
    try:
        for page in ("model_data", "train", "scaling", "clusters", "accuracy", "runs"):
            bob.switch_page(f"../pages/{page}.py").run()
            assert not bob.exception, (page, [e.value for e in bob.exception])
        for key in (
            "job",
            "data_choice",
            "session_run_ids",
            "run_cache",
        ):  # none of Alice's state reached Bob's
            assert key not in bob.session_state or not bob.session_state[key], key
        bob.switch_page("../pages/scaling.py").run()
        assert bob.info, "Bob's views must ask him to train first, not show Alice's run"
    finally:
        assert job.join(120), "Alice's training did not finish in time"
    alice.run()
    assert len(session_runs(alice)) == 2
    bob.switch_page("../pages/accuracy.py").run()
    assert "job" not in bob.session_state or not bob.session_state["job"]
    assert bob.info


def test_another_sessions_training_in_progress_is_not_listed_even_under_all_recorded_runs():
    import os
    import socket

    from metalora.training.run_registry import RunRegistry

    reg = RunRegistry()
    alive = {"process": {"host": socket.gethostname(), "pid": os.getpid()}}
    training = reg.add({"method": "lora", "dataset": "secret.npz", "status": "running", "config": alive})
    finished = reg.add({"method": "lora", "dataset": "digits", "status": "completed"})
    try:
        carol = new_app()
        carol.switch_page("../pages/runs.py").run()
        carol.toggle(key="all_runs").set_value(True).run()
        assert not carol.exception, [e.value for e in carol.exception]
        listed = carol.dataframe[0].value.iloc[:, 0].tolist()  # the first column: the run ids
        assert finished in listed and training not in listed, listed
        registry_table = carol.dataframe[1].value  # the registry's own table lists it, as training now
        assert training in registry_table.iloc[:, 0].tolist()
    finally:
        reg.delete(training)
        reg.delete(finished)


def test_recorded_times_read_as_people_read_them():
    from app.session import recorded_time

    assert recorded_time("2026-12-02T01:33:03+00:00") == "2026-12-02 01:33"
    assert recorded_time("2026-12-02T10:33:03+09:00") == "2026-12-02 01:33"
    assert recorded_time(None) is None and recorded_time("not a time") == "not a time"
