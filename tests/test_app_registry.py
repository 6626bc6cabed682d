"""The run registry is the truth: a fresh session, a reload or a restart sees every recorded run.

Also the meeting dashboard's other fixes: deleting asks first, the cluster map lassoes and lists each
selected input once, Accuracy & cost never mixes data sets silently, and meeting mode's chart text is
large enough for a projector. Each test would have failed before its fix.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.strings import STRINGS
from metalora.training.demo import DEMO_METHOD, DEMO_METHODS
from tests.app_support import MAIN, environment, new_app, session_runs, tiny_env


def s(key: str, lang: str = "en", **fields) -> str:
    return STRINGS[key][lang].format(**fields) if fields else STRINGS[key][lang]


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.fixture(scope="module", autouse=True)
def tiny_demo(tmp_path_factory):
    with environment(tiny_env(tmp_path_factory.mktemp("registry"))) as env:
        yield env


@pytest.fixture(scope="module")
def alice(tiny_demo) -> AppTest:
    """A session that ran the demo: two runs recorded, with their folders."""
    at = new_app()
    at.button(key="run_demo").click().run()
    assert at.session_state["job"].join(120), "training did not finish in time"
    at.run()
    no_errors(at)
    assert tuple(r.method for r in session_runs(at)) == DEMO_METHODS
    return at


def registry():
    from metalora.training.run_registry import RunRegistry

    return RunRegistry()


def test_a_fresh_session_sees_the_recorded_runs_and_rebuilds_one_from_its_folder(alice):
    from app import resources, views

    resources.sample_model.clear()  # as after a server restart: nothing shared is left in memory
    resources.builtin_data.clear()
    bob = new_app()
    bob.switch_page("../pages/runs.py").run()
    no_errors(bob)
    assert [i.value for i in bob.info] == [s("need_runs_recorded", n=2)]
    assert len(bob.dataframe) == 1, "the registry's own table is there even without a run of this session"
    bob.toggle(key="all_runs").set_value(True).run()
    no_errors(bob)
    ids = {r.id for r in session_runs(alice)}
    assert set(bob.dataframe[0].value[s("col_run")]) == ids

    bob.switch_page("../pages/scaling.py").run()  # the toggle holds on the next page
    no_errors(bob)
    assert bob.toggle(key="all_runs").value
    assert len(bob.get("plotly_chart")) == 4
    meta = next(r for r in session_runs(alice) if r.method == DEMO_METHOD)
    rebuilt = bob.session_state["run_cache"][meta.id]
    assert rebuilt is not meta and rebuilt.loaded, "rebuilt in Bob's session, not borrowed from Alice's"
    assert not session_runs(bob), "Bob trained nothing: none of these runs are his session's"
    mine, theirs = views.analysis(meta).scaling_table(), views.analysis(rebuilt).scaling_table()
    for layer in mine.layers:
        np.testing.assert_allclose(theirs.factors[layer], mine.factors[layer], rtol=1e-4, atol=1e-5)
    bob.run()
    assert bob.session_state["run_cache"][meta.id] is rebuilt, "rebuilt once per session"


def test_a_reload_of_the_tab_still_knows_this_sessions_runs(alice):
    runs = session_runs(alice)
    assert alice.query_params["runs"] == ",".join(str(r.id) for r in runs)
    reloaded = AppTest.from_file(str(MAIN), default_timeout=90)
    reloaded.query_params["runs"] = str(runs[-1].id)  # the address of a tab that trained only this one
    reloaded.run()
    reloaded.switch_page("../pages/accuracy.py").run()
    no_errors(reloaded)
    assert not reloaded.toggle(key="all_runs").value
    assert list(reloaded.dataframe[0].value[s("col_run")]) == [runs[-1].id]
    assert [r.id for r in session_runs(reloaded)] == [runs[-1].id]
    assert reloaded.query_params["runs"] == str(runs[-1].id), "still in the address after a page switch"


def add_row(source: dict, **changes) -> int:
    row = {k: v for k, v in source.items() if k not in ("id", "created")}
    row.update(changes)
    return registry().add(row)


def test_failed_and_unrebuildable_runs_say_so_plainly(alice):
    meta = next(r for r in session_runs(alice) if r.method == DEMO_METHOD)
    source = registry().get(meta.id)
    failed = add_row(source, status="failed", error="Training diverged.", adapter_path=None, accuracy=None)
    copy = Path(source["adapter_path"]).with_name("uploaded-model-copy")
    shutil.copytree(source["adapter_path"], copy)
    uploaded_model = add_row(source, model="upload:my-net · w.safetensors", adapter_path=str(copy))
    config = {**source["config"], "data": {"name": "tiny"}}
    uploaded_data = add_row(source, dataset="tiny", config=config)

    at = new_app()
    at.switch_page("../pages/runs.py").run()
    at.toggle(key="all_runs").set_value(True).run()
    no_errors(at)
    table = at.dataframe[0].value.set_index(s("col_run"))
    assert table.loc[failed, s("col_status")] == s("status_failed")
    assert table.loc[meta.id, s("col_status")] == s("status_completed")
    at.selectbox(key="runs_pick").set_value(failed).run()
    no_errors(at)
    assert s("run_failed").split("(")[0] in " ".join(c.value for c in at.caption)
    assert not [b for b in at.get("download_button") if b.proto.id.endswith("adapter_zip")]

    at.switch_page("../pages/scaling.py").run()
    assert not at.exception, [e.value for e in at.exception]
    options = at.selectbox(key="run_pick").options
    assert not [o for o in options if o.startswith(f"#{failed} ")], "failed runs are never analysed"
    for run_id, words in ((uploaded_model, "uploaded model"), (uploaded_data, "uploaded data")):
        at.selectbox(key="run_pick").set_value(run_id).run()
        assert not at.exception, [e.value for e in at.exception]
        assert len(at.error) == 1 and words in at.error[0].value, [e.value for e in at.error]
        assert not at.get("plotly_chart")
    at.switch_page("../pages/accuracy.py").run()  # the facts of every completed run are still shown
    no_errors(at)
    assert [w.value for w in at.warning] == [s("mixed_data", n=2)], "the demo's data and the uploaded data"
    at.selectbox(key="acc_data").set_value(meta.data_key).run()
    no_errors(at)
    assert failed not in set(at.dataframe[0].value[s("col_run")])
    assert {uploaded_model, meta.id} <= set(at.dataframe[0].value[s("col_run")])
    for run_id in (failed, uploaded_model, uploaded_data):
        registry().delete(run_id)


def test_the_cluster_map_lassoes_and_lists_each_selected_input_once(alice, monkeypatch):
    from app import ui

    alice.switch_page("../pages/clusters.py").run()
    no_errors(alice)
    assert specs(alice)[0]["layout"]["dragmode"] == "lasso"

    real = ui.chart

    def fake_selection(figure, *args, key, **kwargs):
        real(figure, *args, key=key, **kwargs)
        if key != "cluster_map":
            return None
        twice = {"customdata": {"0": 7, "1": 0}}  # the dot and the ring of a typical input
        points = [twice, {"customdata": [7, 0]}, {"customdata": [9, 1]}, {"customdata": [7, 0]}]
        return {"selection": {"points": points}}

    monkeypatch.setattr(ui, "chart", fake_selection)
    alice.run()
    no_errors(alice)
    assert alice.subheader[-1].value == s("selected_inputs", n=2)
    assert len(alice.get("image")) == 2


def accuracy_rows(home: Path, rows: list[tuple[str, int, str]]) -> None:
    """Recorded runs with facts only (method, repeat #, data set) in a registry at ``home``."""
    from metalora.data import DataSpec
    from metalora.training.run_registry import RunRegistry

    reg = RunRegistry(home)
    for method, seed, data in rows:
        spec = DataSpec(name=data, domains=("clean", "inverted"))
        acc = 0.5 + 0.1 * seed
        reg.add({
            "model": "sample:x", "dataset": data, "domains": list(spec.domains), "method": method,
            "rank": 4, "seed": seed, "config": {"data": spec.to_dict(), "train": {"seed": seed, "epochs": 1}},
            "metrics": {"test": {"accuracy": acc, "per_domain": {"clean": acc, "inverted": acc}}},
            "accuracy": acc, "trainable_params": 100, "flops": 1000, "train_time_s": 1.0,
        })  # fmt: skip


def test_accuracy_never_mixes_data_sets_and_shows_a_spread_only_over_repeats(tmp_path, monkeypatch):
    monkeypatch.setenv("METALORA_HOME", str(tmp_path))
    accuracy_rows(tmp_path, [("lora", 0, "digits"), ("meta-tr", 0, "digits"), ("lora", 0, "shapes")])
    at = new_app()
    at.switch_page("../pages/accuracy.py").run()
    at.toggle(key="all_runs").set_value(True).run()
    no_errors(at)
    assert [w.value for w in at.warning] == [s("mixed_data", n=2)]
    picker = at.selectbox(key="acc_data")
    assert len(picker.options) == 2 and picker.value.find('"shapes"') > 0, "the newest run's data first"
    assert list(at.dataframe[0].value[s("col_data")]) == [f"{s('data_shapes')} × 2"]  # named in words
    assert s("no_repeats") in [m.value for m in at.markdown]
    assert len(at.get("plotly_chart")) == 2, "no spread chart that would repeat the first one"

    assert picker.options[picker.index].startswith(f"{s('data_shapes')} · clean, inverted · 32 px")
    picker.set_value(picker.value.replace('"shapes"', '"digits"')).run()  # the options are data keys
    no_errors(at)
    assert len(at.dataframe[0].value) == 2
    accuracy_rows(tmp_path, [("lora", 1, "digits")])  # a second repeat of one setting
    at.run()
    no_errors(at)
    assert len(at.get("plotly_chart")) == 3 and len(at.dataframe) == 2
    assert s("no_repeats") not in [m.value for m in at.markdown]


def test_one_data_set_has_no_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("METALORA_HOME", str(tmp_path))
    accuracy_rows(tmp_path, [("lora", 0, "digits"), ("lora", 1, "digits")])
    at = new_app()
    at.switch_page("../pages/accuracy.py").run()
    at.toggle(key="all_runs").set_value(True).run()
    no_errors(at)
    assert not at.warning and not [sb for sb in at.selectbox if sb.key == "acc_data"]
    assert len(at.get("plotly_chart")) == 3


def test_meeting_mode_draws_projector_sized_chart_text_and_narrow_tables(alice):
    from app.session_runs import MEETING_ACCURACY_COLUMNS
    from app.ui import MEETING_FONT_PX, MEETING_HEIGHT, REPORT, details_key

    alice.switch_page("../pages/home.py").run()
    alice.sidebar.toggle[0].set_value(True).run()
    try:
        for page in ("scaling", "accuracy"):
            alice.switch_page(f"../pages/{page}.py").run()
            if page == "accuracy":  # its charts are in the folded details: opened, as a presenter clicks
                alice.session_state[details_key("acc_cost_header", True)] = True
                alice.run()
            no_errors(alice)
            drawn = specs(alice)
            assert drawn, page
            for spec in drawn:
                layout = spec["layout"]
                sizes = [layout["font"]["size"], layout["title"]["font"]["size"]]
                sizes += [layout["legend"]["font"]["size"], layout["hoverlabel"]["font"]["size"]]
                for axis in (k for k in layout if k.startswith(("xaxis", "yaxis"))):
                    sizes += [layout[axis]["tickfont"]["size"], layout[axis]["title"]["font"]["size"]]
                assert min(sizes) >= MEETING_FONT_PX, (page, sizes)
                assert layout["height"] >= MEETING_HEIGHT * 460, "taller: the large type keeps its plot"
        assert not alice.dataframe, "meeting mode's tables are static, in large type, and wrap to fit"
        columns = list(alice.table[0].value.columns)
        assert columns == [s(f"col_{c}") for c in MEETING_ACCURACY_COLUMNS]
        kept = alice.session_state[REPORT]["acc_cost"][1]
        assert kept.layout.font.size < MEETING_FONT_PX, "the builder's figure (and the report) keep theirs"
    finally:
        alice.switch_page("../pages/home.py").run()
        alice.sidebar.toggle[0].set_value(False).run()


def test_delete_asks_first_then_removes_the_row_and_the_folder(alice):
    run = session_runs(alice)[0]
    folder = Path(run.result.adapter_path)
    alice.switch_page("../pages/runs.py").run()
    alice.selectbox(key="runs_pick").set_value(run.id).run()
    alice.button(key="delete_run").click().run()
    no_errors(alice)
    assert [w.value for w in alice.warning] == [s("delete_confirm", name=run.name("en"))]
    assert registry().get(run.id) and folder.is_dir(), "one click deletes nothing"
    alice.button(key="delete_no").click().run()
    assert not alice.warning and registry().get(run.id) and folder.is_dir()
    alice.button(key="delete_run").click().run()
    alice.button(key="delete_yes").click().run()
    no_errors(alice)
    assert run.id not in [r["id"] for r in registry().list()]
    assert not folder.exists()
    assert run.id not in [r.id for r in session_runs(alice)]
    assert alice.query_params["runs"] == ",".join(str(r.id) for r in session_runs(alice))


def test_running_and_interrupted_runs_are_shown_as_such(tmp_path):
    from app import session
    from metalora.training import RunRegistry

    reg = RunRegistry(tmp_path)
    for status in ("running", "interrupted", "failed", "completed"):
        reg.add(
            {
                "model": "sample:x",
                "dataset": "digits",
                "method": "lora",
                "rank": 2,
                "seed": 0,
                "status": status,
            }
        )
    shown = [r["status"] for r in session.registry_rows(reg, "en")]
    assert shown == ["completed", "failed", "interrupted (its process stopped)", "training now"]
    assert session.registry_rows(reg, "ja")[2]["status"] == "中断（処理が止まりました）"
