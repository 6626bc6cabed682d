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
