"""The Runs page's disk space and clean-up (AppTest): it shows the space runs use, and deletes old runs
only after showing which ones go and the space freed, and a confirmation; "Delete this run" asks too."""

from __future__ import annotations

import os
import shutil
import socket
from datetime import datetime, timedelta, timezone

import pytest

from app.strings import STRINGS, t
from metalora.training.run_registry import RunRegistry
from tests.app_support import environment, new_app, session_runs, tiny_env
from tests.test_app_japanese import english_words, page_texts


@pytest.fixture(scope="module", autouse=True)
def tiny_demo(tmp_path_factory):
    with environment(tiny_env(tmp_path_factory.mktemp("cleanup"))) as env:
        yield env


@pytest.fixture
def at():
    """A session that ran the tiny demo (two runs of its own), on a registry with nothing else."""
    reg = RunRegistry()
    for row in reg.list():
        reg.delete(row["id"])
    app = new_app()
    app.button(key="run_demo").click().run()
    job = app.session_state["job"]
    assert job.join(120), "the demo did not finish in time"
    app.run()
    assert job.status == "done", job.error
    return app


def recorded_elsewhere(days_ago: float, size: int, **over) -> int:
    """A run recorded by the command line ``days_ago`` days ago, with a folder of ``size`` bytes."""
    reg = RunRegistry()
    created = (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat(timespec="seconds")
    folder = reg.runs_dir / f"cli-run-{created}"
    folder.mkdir()
    (folder / "adapter_model.safetensors").write_bytes(b"x" * size)
    row = {"created": created, "method": "lora", "dataset": "digits", "status": "completed"}
    return reg.add({**row, "adapter_path": str(folder), **over})


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def preview(at, rule: str, n: int):
    """Pick ``rule`` with ``n``, press "Show what would be deleted"; the pending preview (or None)."""
    at.radio(key="cleanup_rule").set_value(STRINGS[f"cleanup_rule_{rule}"]["en"]).run()
    at.number_input(key=f"cleanup_n_{rule}").set_value(n).run()
    at.button(key="cleanup_preview").click().run()
    no_errors(at)
    state = at.session_state  # AppTest's session state has no .get()
    return state["cleanup_pending"] if "cleanup_pending" in state else None  # noqa: SIM401


def test_the_space_used_is_shown_and_old_runs_go_only_after_a_confirmation(at):
    old = recorded_elsewhere(400, 3 * 1024)
    folder = RunRegistry().get(old)["adapter_path"]
    at.switch_page("../pages/runs.py").run()
    no_errors(at)
    reg = RunRegistry()
    assert reg.count() == 3
    use = reg.disk_usage()
    assert use["runs"] > 3 * 1024
    assert "3 recorded run(s) use " in markdown(at) and "run folders" in markdown(at)

    pending = preview(at, "older", 365)  # the first click only shows what would go
    assert pending is not None and pending.ids == (old,) and pending.bytes == 3 * 1024
    assert RunRegistry().count() == 3 and os.path.isdir(folder), "nothing is deleted before the confirmation"
    assert at.warning[0].value == t("cleanup_confirm", "en", n=1, size="3 KiB")
    shown = at.dataframe[-1].value
    assert shown[STRINGS["col_run"]["en"]].tolist() == [old]
    assert shown[STRINGS["col_size"]["en"]].tolist() == ["3 KiB"]

    at.button(key="cleanup_no").click().run()  # "Keep them"
    no_errors(at)
    assert "cleanup_pending" not in at.session_state and RunRegistry().count() == 3

    preview(at, "older", 365)
    at.button(key="cleanup_yes").click().run()
    no_errors(at)
    assert RunRegistry().count() == 2
    assert not os.path.exists(folder)
    assert at.success[0].value == t("cleanup_done", "en", n=1, size="3 KiB")
    assert len(session_runs(at)) == 2, "this session's runs were younger: kept"
    assert "2 recorded run(s) use " in markdown(at)


def test_keep_the_newest_deletes_this_sessions_runs_too_but_never_one_still_training(at):
    here = {"process": {"host": socket.gethostname(), "pid": os.getpid()}}  # alive: still training
    training = recorded_elsewhere(1, 10, status="running", config=here, adapter_path=None)
    mine = [r.id for r in session_runs(at)]
    at.switch_page("../pages/runs.py").run()
    pending = preview(at, "keep", 1)
    assert pending.ids == (mine[0],), "keep the newest finished run; the one training is not offered"
    at.button(key="cleanup_yes").click().run()
    no_errors(at)
    assert [r.id for r in session_runs(at)] == [mine[1]]  # the session forgot the deleted run
    assert {r["id"] for r in RunRegistry().list()} == {mine[1], training}
    assert preview(at, "keep", 10) is None
    assert at.info[-1].value == STRINGS["cleanup_nothing"]["en"]


def test_delete_this_run_asks_first(at):
    at.switch_page("../pages/runs.py").run()
    at.button(key="delete_run").click().run()
    assert RunRegistry().count() == 2 and at.warning, "the first click only asks"
    at.button(key="delete_no").click().run()
    assert RunRegistry().count() == 2
    at.button(key="delete_run").click().run()
    at.button(key="delete_yes").click().run()
    no_errors(at)
    assert RunRegistry().count() == 1 and len(session_runs(at)) == 1


def test_the_clean_up_in_japanese(at):
    recorded_elsewhere(400, 2048)
    at.sidebar.selectbox[0].set_value("ja").run()
    at.switch_page("../pages/runs.py").run()
    at.radio(key="cleanup_rule").set_value(STRINGS["cleanup_rule_older"]["ja"]).run()
    at.number_input(key="cleanup_n_older").set_value(365).run()
    at.button(key="cleanup_preview").click().run()
    no_errors(at)
    assert at.warning[0].value == t("cleanup_confirm", "ja", n=1, size="2 KiB")
    texts = list(page_texts(at, figures=False))
    assert STRINGS["col_size"]["ja"] in texts and STRINGS["cleanup_yes"]["ja"].format(n=1) in texts
    proper = {"resnet-mini-digits", *(r.model_label for r in session_runs(at))}
    english = [(w, text) for text in texts for w in english_words(text, proper)]
    assert not english, english


def leftover(name: str, size: int, age_s: float = 0.0):
    """A hidden folder under ``runs/`` as a training killed while saving leaves it, last changed ``age_s``
    ago."""
    folder = RunRegistry().runs_dir / name
    folder.mkdir()
    (folder / "adapter_model.safetensors").write_bytes(b"x" * size)
    then = datetime.now(timezone.utc).timestamp() - age_s
    for p in (folder / "adapter_model.safetensors", folder):
        os.utime(p, (then, then))
    return folder


def test_leftovers_of_interrupted_runs_are_counted_and_removed_but_never_one_being_written(at):
    from metalora.training.run_upkeep import LEFTOVER_AGE_S

    here = {"process": {"host": socket.gethostname(), "pid": os.getpid()}}  # alive: still training
    recorded_elsewhere(0, 10, status="running", config=here, adapter_path=None)
    stale = leftover(".tmp-20260101-000000-meta-tr-s0-1234abcd-x1", 3 * 1024, age_s=LEFTOVER_AGE_S + 60)
    killed_delete = leftover(".deleting-20260101-000000-lora-s0-5678abcd-1a2b3c", 1024)
    fresh = leftover(".tmp-20260102-000000-lora-s1-9999abcd-z9", 2048)  # the training may be writing it
    at.switch_page("../pages/runs.py").run()
    no_errors(at)
    assert t("cleanup_usage_leftovers", "en", n=2, size="4 KiB") in markdown(at)

    pending = preview(at, "older", 365)  # no run that old: the leftovers only
    assert pending.ids == () and set(pending.leftovers) == {stale.name, killed_delete.name}
    assert [w.value for w in at.warning] == [t("cleanup_confirm_leftovers", "en", n=2, size="4 KiB")]
    assert stale.is_dir(), "nothing is removed before the confirmation"
    assert at.button(key="cleanup_yes").label == STRINGS["cleanup_yes_leftovers"]["en"]
    at.button(key="cleanup_yes").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("cleanup_done_leftovers", "en", n=2, size="4 KiB")]
    assert not stale.exists() and not killed_delete.exists() and fresh.is_dir()
    assert RunRegistry().count() == 3 and "leftover" not in markdown(at)
    assert preview(at, "older", 365) is None and at.info[-1].value == STRINGS["cleanup_nothing"]["en"]
    shutil.rmtree(fresh)  # the next test's registry has no run training: it would be a leftover there


def test_a_clean_up_removes_the_leftovers_with_the_runs_in_japanese(at):
    old = recorded_elsewhere(400, 2048)
    stale = leftover(".tmp-20260101-000000-meta-tr-s0-1234abcd-x1", 1024, age_s=2 * 3600)
    at.sidebar.selectbox[0].set_value("ja").run()
    at.switch_page("../pages/runs.py").run()
    no_errors(at)
    assert t("cleanup_usage_leftovers", "ja", n=1, size="1 KiB") in markdown(at)
    at.radio(key="cleanup_rule").set_value(STRINGS["cleanup_rule_older"]["ja"]).run()
    at.number_input(key="cleanup_n_older").set_value(365).run()
    at.button(key="cleanup_preview").click().run()
    no_errors(at)
    assert [w.value for w in at.warning] == [
        t("cleanup_confirm", "ja", n=1, size="2 KiB"),
        t("cleanup_confirm_leftovers", "ja", n=1, size="1 KiB"),
    ]
    texts = list(page_texts(at, figures=False))
    proper = {"resnet-mini-digits", *(r.model_label for r in session_runs(at))}
    english = [(w, text) for text in texts for w in english_words(text, proper)]
    assert not english, english
    at.button(key="cleanup_yes").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [
        t("cleanup_done", "ja", n=1, size="2 KiB"),
        t("cleanup_done_leftovers", "ja", n=1, size="1 KiB"),
    ]
    assert not stale.exists() and old not in {r["id"] for r in RunRegistry().list()}
