"""AppTest of every page: the whole demo on a tiny training, each view, languages, cancel, waiting.

The demo is shrunk with ``METALORA_DEMO_EPOCHS`` / ``METALORA_DEMO_SAMPLES`` (see ``app/testkit.py``).
AppTest does not fire ``run_every`` timers, so the tests wait for the job thread and rerun.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

import testkit  # noqa: E402
from strings import STRINGS  # noqa: E402

PAGES = ["model_data", "train", "scaling", "ranks", "clusters", "accuracy", "runs"]
CHARTS = {"scaling": 3, "ranks": 2, "clusters": 1, "accuracy": 3}


@pytest.fixture(scope="module", autouse=True)
def tiny_demo(tmp_path_factory):
    with testkit.environment(testkit.tiny_env(tmp_path_factory.mktemp("app"))) as env:
        yield env


def new_app() -> AppTest:
    return AppTest.from_file(str(testkit.MAIN), default_timeout=90).run()


def wait_for_job(at: AppTest) -> None:
    job = at.session_state["job"]
    assert job.join(120), "training did not finish in time"
    at.run()


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture(scope="module")
def demo_app(tiny_demo) -> AppTest:
    at = new_app()
    at.button(key="run_demo").click().run()
    no_errors(at)
    wait_for_job(at)
    return at


def test_demo_trains_two_runs_and_guides_to_the_views(demo_app):
    at = demo_app
    no_errors(at)
    job = at.session_state["job"]
    assert job.status == "done", job.error
    assert [r.method for r in at.session_state["runs"]] == ["lora", "meta-tr"]
    assert at.success[0].value == STRINGS["job_done"]["en"].format(n=2)
    assert len(at.get("page_link")) == 5


@pytest.mark.parametrize("page", PAGES)
def test_every_page_after_the_demo(demo_app, page):
    at = demo_app
    at.switch_page(f"../pages/{page}.py").run()
    no_errors(at)
    assert at.title[0].value == STRINGS[f"page_{page}"]["en"]
    assert len(at.get("plotly_chart")) >= CHARTS.get(page, 0)


@pytest.mark.parametrize("page", ["scaling", "clusters", "accuracy"])
def test_pages_in_japanese_and_meeting_mode(demo_app, page):
    at = demo_app
    at.switch_page("../pages/home.py").run()
    at.sidebar.toggle[0].set_value(True)
    at.sidebar.selectbox[0].set_value("ja").run()
    at.switch_page(f"../pages/{page}.py").run()
    no_errors(at)
    assert at.title[0].value == STRINGS[f"page_{page}"]["ja"]
    assert at.info, "meeting mode shows each chart's meaning in a callout"
    at.switch_page("../pages/home.py").run()  # AppTest keeps a radio's old label: switch back elsewhere
    at.sidebar.toggle[0].set_value(False)
    at.sidebar.selectbox[0].set_value("en").run()


def test_scaling_compares_two_inputs(demo_app):
    at = demo_app
    at.switch_page("../pages/scaling.py").run()
    at.checkbox(key="compare_two").check().run()
    no_errors(at)
    assert at.metric[0].label == STRINGS["scaling_distance"]["en"]


def test_runs_page_deletes_a_run(tiny_demo):
    at = new_app()
    at.button(key="run_demo").click().run()
    wait_for_job(at)
    at.switch_page("../pages/runs.py").run()
    no_errors(at)
    assert len(at.session_state["runs"]) == 2
    at.button(key="delete_run").click().run()
    no_errors(at)
    assert len(at.session_state["runs"]) == 1


def test_views_before_any_run_say_what_to_do(tiny_demo):
    at = new_app()
    for page in ("train", "scaling", "clusters", "accuracy", "runs"):
        at.switch_page(f"../pages/{page}.py").run()
        no_errors(at)
        assert at.info, page


def test_train_form_then_cancel(tiny_demo):
    at = new_app()
    at.switch_page("../pages/model_data.py").run()
    at.button(key="use_sample").click().run()
    at.button(key="use_builtin").click().run()  # the full digits: an epoch takes a while
    no_errors(at)
    at.switch_page("../pages/train.py").run()
    at.slider[1].set_value(30)  # epochs
    at.button[0].click().run()  # the form's submit button
    no_errors(at)
    job = at.session_state["job"]
    assert job.active
    at.button(key="cancel_main").click().run()
    assert job.join(60)
    at.run()
    assert job.status == "cancelled"
    assert at.info[0].value == STRINGS["job_cancelled"]["en"]


def test_a_second_job_waits_for_the_device(tiny_demo):
    import jobs

    lock = jobs.device_lock("auto")
    lock.acquire()
    try:
        at = new_app()
        at.button(key="run_demo").click().run()
        job = at.session_state["job"]
        assert job.status == "waiting"
        assert at.warning[0].value == STRINGS["job_waiting"]["en"]
    finally:
        lock.release()
    wait_for_job(at)
    assert job.status == "done"


def test_a_crash_in_meeting_mode_is_a_friendly_message(demo_app, monkeypatch):
    import picker

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    at = demo_app
    at.switch_page("../pages/home.py").run()
    at.sidebar.toggle[0].set_value(True).run()
    monkeypatch.setattr(picker, "pick_run", broken)
    at.switch_page("../pages/scaling.py").run()
    assert not at.exception
    assert at.error[0].value == STRINGS["error_generic"]["en"]
    monkeypatch.undo()
    at.sidebar.toggle[0].set_value(False).run()
