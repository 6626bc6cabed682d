"""AppTest of every page: the whole demo on a tiny training, each view, languages, cancel, waiting.

The demo is shrunk with ``METALORA_DEMO_EPOCHS`` / ``METALORA_DEMO_SAMPLES`` (see
``tests/app_support.py``). AppTest does not fire ``run_every`` timers, so the tests wait for the job
thread and rerun.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from app.strings import STRINGS
from app.ui import details_key
from metalora.methods import method_label
from metalora.training.demo import DEMO_ADAPTER_KWARGS, DEMO_METHOD, DEMO_METHODS
from tests.app_support import environment, new_app, own_runs, session_runs, tiny_env

PAGES = ["model_data", "train", "scaling", "ranks", "clusters", "accuracy", "runs"]
#: What each page shows after the demo: (charts at least, charts at most, tables, download buttons).
#: The analysis pages draw; model_data shows the preview and two tables; train the curves of the job.
EXPECTED = {
    "model_data": (0, 0, 2, 0),
    "train": (1, 1, 0, 0),
    "scaling": (4, 4, 0, 0),
    "ranks": (2, 3, 0, 0),
    "clusters": (1, 1, 0, 0),
    "accuracy": (2, 2, 1, 0),  # one run per method: no spread over repeats (a sentence says so)
    "runs": (0, 0, 2, 4),
}


@pytest.fixture(scope="module", autouse=True)
def tiny_demo(tmp_path_factory):
    with environment(tiny_env(tmp_path_factory.mktemp("app"))) as env:
        yield env


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
    assert tuple(r.method for r in session_runs(at)) == DEMO_METHODS
    assert at.query_params["runs"] == ",".join(str(r.id) for r in session_runs(at)), "kept over a reload"
    assert at.success[0].value == STRINGS["job_done"]["en"].format(n=2)
    assert len(at.get("page_link")) == 5


@pytest.mark.parametrize("page", PAGES)
def test_every_page_after_the_demo(demo_app, page):
    at = demo_app
    at.switch_page(f"../pages/{page}.py").run()
    no_errors(at)
    assert at.title[0].value == STRINGS[f"page_{page}"]["en"]
    low, high, tables, downloads = EXPECTED[page]
    assert low <= len(at.get("plotly_chart")) <= high, page
    assert len(at.dataframe) == tables, page
    assert len(at.get("download_button")) == downloads, page
    if page == "model_data":
        assert at.get("image"), "the preview of the data"
    if page in ("scaling", "ranks", "clusters"):  # the run picker names runs in the manager's words
        options = at.selectbox(key="run_pick").options
        assert options and all("repeat #0" in o for o in options), options


@pytest.mark.parametrize("page", ["scaling", "clusters", "accuracy"])
def test_pages_in_japanese_and_meeting_mode(demo_app, page):
    at = demo_app
    at.switch_page("../pages/home.py").run()
    at.sidebar.toggle[0].set_value(True)
    at.sidebar.selectbox[0].set_value("ja").run()
    at.switch_page(f"../pages/{page}.py").run()
    no_errors(at)
    assert at.title[0].value == STRINGS[f"page_{page}"]["ja"]
    if page == "accuracy":  # its charts are in the folded details: opened, as a presenter clicks
        at.session_state[details_key("acc_cost_header", True)] = True
        at.run()
    assert at.info, "meeting mode shows each chart's meaning in a callout"
    assert at.get("plotly_chart"), page
    if page == "accuracy":  # the runs table (static in meeting mode): Japanese headers and method names
        how = [c.value for c in at.caption if "最も速いと測定された方法" in c.value]
        assert len(how) == 1 and " 層" in how[0], [c.value for c in at.caption]  # the layers' contractions
        df = at.table[0].value
        assert STRINGS["col_method"]["ja"] in df.columns and STRINGS["col_seed"]["ja"] in df.columns
        assert method_label(DEMO_METHOD, "ja") in set(df[STRINGS["col_method"]["ja"]])
        assert method_label(DEMO_METHOD, "ja") != method_label(DEMO_METHOD, "en")  # translated
    else:
        assert all("繰り返し #0" in o for o in at.selectbox(key="run_pick").options)
    at.switch_page("../pages/home.py").run()  # AppTest keeps a radio's old label: switch back elsewhere
    at.sidebar.toggle[0].set_value(False)
    at.sidebar.selectbox[0].set_value("en").run()


def layout(at: AppTest) -> list[tuple[str, bool]]:
    """``(element type, inside an expander)`` of the main area's elements, in the order they are drawn."""
    from streamlit.testing.v1.element_tree import Block, Expander

    out: list[tuple[str, bool]] = []

    def walk(node, inside: bool) -> None:
        for child in getattr(node, "children", {}).values():
            folded = inside or isinstance(child, Expander)
            if isinstance(child, Block):
                walk(child, folded)
            else:
                out.append((child.type, folded))

    walk(at.main, False)
    return out


#: The headline of each analysis page: the element it opens with (a chart; the result card's metrics).
HEADLINE = {
    "scaling": "plotly_chart",
    "ranks": "plotly_chart",
    "clusters": "plotly_chart",
    "accuracy": "metric",
}


@pytest.mark.parametrize("page", list(HEADLINE))
@pytest.mark.parametrize("meeting", [False, True])
def test_analysis_pages_open_with_their_headline_and_fold_the_details(demo_app, page, meeting):
    at = demo_app
    at.switch_page("../pages/home.py").run()
    at.sidebar.toggle[0].set_value(meeting).run()
    try:
        at.switch_page(f"../pages/{page}.py").run()
        no_errors(at)
        drawn = layout(at)
        first = next(i for i, (kind, _) in enumerate(drawn) if kind == HEADLINE[page])
        assert not drawn[first][1], "the headline is on the page, not in a folded section"
        charts = [inside for kind, inside in drawn if kind == "plotly_chart"]
        headline_charts = 1 if HEADLINE[page] == "plotly_chart" else 0  # the result card is not a chart
        assert charts.count(False) == headline_charts, "one headline; the other charts are in the details"
        folds = [e for e in at.main.expander if e.label in {STRINGS[k]["en"] for k in DETAILS[page]}]
        assert len(folds) == len(DETAILS[page]) and all(e.proto.expanded == (not meeting) for e in folds)
        if meeting:  # a folded section's charts cost the browser nothing until the section is opened
            assert charts.count(True) == 0, "no chart drawn in a folded section"
            for k in DETAILS[page]:
                at.session_state[details_key(k, True)] = True  # as a click on the section's title does
            at.run()
            no_errors(at)
            opened = [inside for kind, inside in layout(at) if kind == "plotly_chart"]
            assert opened.count(True) >= (page in FOLDED_CHARTS) and opened.count(False) == headline_charts
        else:
            assert charts.count(True) >= (page in FOLDED_CHARTS), "the open sections draw their charts"
    finally:
        at.switch_page("../pages/home.py").run()
        at.sidebar.toggle[0].set_value(False).run()


#: The analysis pages with charts in their details (Adaptation clusters' details are its scores and choices).
FOLDED_CHARTS = {"scaling", "ranks", "accuracy"}

#: The folded sections of each analysis page, by their titles' keys.
DETAILS = {
    "scaling": ("scaling_layer_header", "scaling_input_header"),
    "ranks": ("ranks_details",),
    "clusters": ("clusters_details",),
    "accuracy": ("acc_cost_header", "per_domain_header", "runs_table_header", "repeat_spread_header"),
}


def test_the_runs_tables_fit_the_page(demo_app):
    """On a desk the runs tables are grids, which cannot wrap: they show the columns that fit the page."""
    from app import views

    at = demo_app
    for page, columns in (("runs", views.RUN_TABLE_COLUMNS), ("accuracy", views.ACCURACY_TABLE_COLUMNS)):
        at.switch_page(f"../pages/{page}.py").run()
        no_errors(at)
        assert list(at.dataframe[0].value.columns) == [STRINGS[f"col_{c}"]["en"] for c in columns], page
        assert len(columns) <= 8


def test_scaling_compares_two_inputs(demo_app):
    at = demo_app
    at.switch_page("../pages/scaling.py").run()
    at.checkbox(key="compare_two").check().run()
    no_errors(at)
    assert at.metric[0].label == STRINGS["scaling_distance"]["en"]


def test_layers_are_named_for_people_with_their_code_names(demo_app):
    """The layer pickers show the names for people (their values stay the code names, kept over a change of
    language), their tooltips and the layers table give the code names."""
    at = demo_app
    at.switch_page("../pages/scaling.py").run()
    box = at.selectbox(key="scaling_layer")
    assert box.value == "stem.0" and box.options[0] == "Stem" and "Output layer" in box.options
    box.set_value("stages.1.0.conv2").run()
    no_errors(at)
    box = at.selectbox(key="scaling_layer")
    assert box.value == "stages.1.0.conv2" and box.help.endswith("stages.1.0.conv2")
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any("Stage 2 · block 1 · conv 2" in t for t in titles), titles
    ticks = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["xaxis"]["ticktext"]
    assert ticks[0] == "Stem" and "Stage 2 · block 1 · shortcut" in ticks  # the headline chart
    at.sidebar.selectbox[0].set_value("ja").run()  # on the page: the picker keeps its layer
    no_errors(at)
    box = at.selectbox(key="scaling_layer")
    assert box.value == "stages.1.0.conv2" and "ステージ 2・ブロック 1・畳み込み 2" in box.options
    at.switch_page("../pages/ranks.py").run()
    no_errors(at)
    chosen = at.multiselect(key="rank_layers")
    assert chosen.value == ["stem.0", "stages.0.0.conv1", "stages.0.0.conv2"] and "ステム" in chosen.options
    assert at.selectbox(key="rank_layer").options == [
        "ステム",
        "ステージ 1・ブロック 1・畳み込み 1",
        "ステージ 1・ブロック 1・畳み込み 2",
    ]
    at.switch_page("../pages/model_data.py").run()
    no_errors(at)
    layers = next(d.value for d in at.dataframe if STRINGS["col_code_name"]["ja"] in d.value.columns)
    assert list(layers[STRINGS["col_code_name"]["ja"]])[:2] == ["stem.0", "stages.0.0.conv1"]
    assert list(layers[STRINGS["col_layer"]["ja"]])[:2] == ["ステム", "ステージ 1・ブロック 1・畳み込み 1"]
    at.switch_page("../pages/train.py").run()
    no_errors(at)
    targets = next(m for m in at.multiselect if m.label == STRINGS["target_layers"]["ja"])
    assert targets.options[0] == "ステム" and "出力層" in targets.options and targets.value == []
    at.switch_page("../pages/home.py").run()
    at.sidebar.selectbox[0].set_value("en").run()


def test_a_page_seen_again_draws_the_figures_it_built(demo_app):
    """The figures of a page seen again come from the session's memo (not built again), the same as drawn the
    first time; another layer, language or meeting mode is another figure."""
    from app.ui import FIGURE_MEMO

    at = demo_app
    at.switch_page("../pages/scaling.py").run()
    at.selectbox(key="scaling_layer").set_value("stem.0").run()  # whichever an earlier test left
    no_errors(at)
    first = [c.proto.spec for c in at.get("plotly_chart")]
    memo = at.session_state[FIGURE_MEMO]
    run_id = at.session_state["run_pick"]
    heatmap = ("scaling_heatmap", (run_id, "stem.0"), "en", False)
    assert heatmap in memo, list(memo)
    built = memo[heatmap][0]
    at.switch_page("../pages/home.py").run()
    at.switch_page("../pages/scaling.py").run()
    no_errors(at)
    assert [c.proto.spec for c in at.get("plotly_chart")] == first
    assert at.session_state[FIGURE_MEMO][heatmap][0] is built  # not built again
    at.selectbox(key="scaling_layer").set_value("stages.1.0.conv2").run()
    no_errors(at)
    keys = [k for k in at.session_state[FIGURE_MEMO] if k[0] == "scaling_heatmap"]
    assert (run_id, "stages.1.0.conv2") in [k[1] for k in keys], keys
    assert [c.proto.spec for c in at.get("plotly_chart")][1] != first[1]  # the other layer's heatmap
    at.sidebar.selectbox[0].set_value("ja").run()
    no_errors(at)
    assert any(k[0] == "scaling_heatmap" and k[2] == "ja" for k in at.session_state[FIGURE_MEMO])
    at.switch_page("../pages/home.py").run()
    at.sidebar.selectbox[0].set_value("en").run()


def test_the_figure_memo_keeps_the_last_figures_only():
    """Each figure is built once per memo key; the memo holds the last FIGURE_MEMO_SIZE, the oldest goes."""

    def script():
        import plotly.graph_objects as go
        import streamlit as st

        from app.ui import chart

        built = st.session_state.setdefault("built", [])
        # the first run draws 20 figures; the next, the newest of them again, then the first again
        for i in range(20) if not built else (19, 0):

            def build(i=i):
                built.append(i)
                return go.Figure(go.Bar(x=[1], y=[i]))

            chart(build, "caption_curves", memo=i, key=f"c{i}")

    from app.ui import FIGURE_MEMO, FIGURE_MEMO_SIZE

    at = AppTest.from_function(script).run()
    no_errors(at)
    assert at.session_state["built"] == list(range(20))
    assert len(at.get("plotly_chart")) == 20
    at.run()
    no_errors(at)
    # 19 was still kept; 0 had been pushed out by the 16 after it, so it is built again
    assert at.session_state["built"] == [*range(20), 0]
    assert [json.loads(c.proto.spec)["data"][0]["y"] for c in at.get("plotly_chart")] == [[19], [0]]
    memo = at.session_state[FIGURE_MEMO]
    assert len(memo) == FIGURE_MEMO_SIZE
    assert [k[1] for k in memo] == [*range(5, 19), 19, 0]  # in order of last use


def test_runs_page_deletes_a_run(tiny_demo):
    at = new_app()
    at.button(key="run_demo").click().run()
    wait_for_job(at)
    at.switch_page("../pages/runs.py").run()
    no_errors(at)
    assert len(session_runs(at)) == 2
    at.button(key="delete_run").click().run()  # the first click only asks
    no_errors(at)
    assert len(session_runs(at)) == 2
    at.button(key="delete_yes").click().run()
    no_errors(at)
    assert len(session_runs(at)) == 1


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
    # MetaLoRA looks at what the demo's MetaLoRA looks at, unless the user picks the other source
    assert job.tasks[0].method == DEMO_METHOD and job.tasks[0].adapter == dict(DEMO_ADAPTER_KWARGS)
    at.button(key="cancel_main").click().run()
    assert job.join(60)
    at.run()
    assert job.status == "cancelled"
    assert at.info[0].value == STRINGS["job_cancelled"]["en"]


def test_a_second_job_waits_for_the_device(tiny_demo):
    from app import jobs

    lock = jobs.device_lock("auto")
    lock.acquire()
    try:
        at = new_app()
        at.button(key="run_demo").click().run()
        job = at.session_state["job"]
        assert job.status == "waiting"
        for _ in range(100):  # the job's thread gets in line
            if job.queue_place() is not None:
                break
            job.join(0.05)
        at.run()
        assert job.queue_place() == 2  # the training holding the processor is the 1st
        assert at.warning[0].value == STRINGS["job_queued"]["en"].format(place="2nd")
    finally:
        lock.release()
    wait_for_job(at)
    assert job.status == "done"


def test_a_crash_in_meeting_mode_is_a_friendly_message(demo_app, monkeypatch):
    from app import picker

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


@pytest.mark.parametrize("page", ["scaling", "clusters"])
def test_scaling_views_with_only_lora_runs_say_what_to_do(demo_app, page):
    """A session with runs but none with scaling factors gets the hint (it used to raise KeyError)."""
    lora = [r for r in session_runs(demo_app) if r.method == "lora"]
    assert lora
    at = new_app()
    own_runs(at, lora)
    at.switch_page(f"../pages/{page}.py").run()
    no_errors(at)
    assert [i.value for i in at.info] == [STRINGS["need_scaling_runs"]["en"]]
    assert not at.get("plotly_chart")


def test_ranks_view_works_with_only_lora_runs(demo_app):
    lora = [r for r in session_runs(demo_app) if r.method == "lora"]
    at = new_app()
    own_runs(at, lora)
    at.switch_page("../pages/ranks.py").run()
    no_errors(at)
    assert len(at.get("plotly_chart")) >= 2


def test_each_run_keeps_one_analysis_warmed_in_the_training_thread(demo_app):
    from app import views

    runs = {r.method: r for r in session_runs(demo_app)}
    meta = runs[DEMO_METHOD]
    assert meta.analysis_memo is not None, "the training thread warms the MetaLoRA run's analysis"
    assert views.analysis(meta) is meta.analysis_memo is views.analysis(meta)
    assert views.analysis(meta).scaling_table() is views.analysis(meta).scaling_table()  # computed once
    assert views.analysis(runs["lora"]) is not views.analysis(meta)
    for run in runs.values():  # the Tensor-ranks page's first choice of layers is analysed in the thread too
        memo = views.analysis(run)._memo
        first = tuple(views.analysis(run).layers[: views.RANK_LAYERS])
        assert ("ranks", first) in memo and ("spectra", first) in memo, run.method
    page = new_app()
    own_runs(page, [meta])
    computed = len(views.analysis(meta)._memo)
    page.switch_page("../pages/ranks.py").run()
    no_errors(page)
    assert len(views.analysis(meta)._memo) == computed, "the page's first visit only draws"


def test_tables_have_their_declared_columns(demo_app):
    from app import session, views
    from app.session_runs import ROW_COLUMNS
    from metalora.training.run_registry import RunRegistry

    runs = session_runs(demo_app)
    assert [list(r.row("ja")) for r in runs] == [list(ROW_COLUMNS)] * len(runs)
    spread = views.spread_table(views.repeat_spread([views.cost_row(r) for r in runs]), "ja")
    assert [list(g) for g in spread] == [list(views.SPREAD_COLUMNS)] * 2
    assert {g["method"] for g in spread} == {method_label(m, "ja") for m in DEMO_METHODS}
    base = demo_app.session_state["model_choice"].frozen()
    assert list(views.layer_rows(base)[0]) == list(views.LAYER_COLUMNS)
    assert [list(r) for r in views.split_rows(runs[0].splits)] == [list(views.SPLIT_COLUMNS)] * 3
    recorded = session.registry_rows(RunRegistry(), "en")
    assert len(recorded) >= 2 and list(recorded[0]) == list(session.REGISTRY_COLUMNS)


def test_run_labels_say_rank_and_repeat_in_each_language():
    from dataclasses import replace

    from app.session_runs import TrainTask
    from metalora.training.demo import DEMO_TRAIN_CONFIG

    task = TrainTask("meta-tr", rank=4, train=replace(DEMO_TRAIN_CONFIG, seed=2))
    assert task.label("en") == "MetaLoRA (Tensor Ring) · rank 4 · repeat #2"
    assert task.label("ja") == "MetaLoRA（テンソルリング）・ランク 4・繰り返し #2"
    assert TrainTask("head", rank=4).label("en") == "Head only · repeat #0"


def test_train_page_offers_only_devices_that_exist(tiny_demo):
    import torch

    from app.devices import available_devices

    at = new_app()
    at.button(key="run_demo").click().run()  # also selects the demo's model and data
    wait_for_job(at)
    at.switch_page("../pages/train.py").run()
    no_errors(at)
    expected = available_devices("en")
    assert at.selectbox(key="device").options == list(expected.values())
    assert ("cuda" in expected) == torch.cuda.is_available()
    assert list(expected)[:2] == ["auto", "cpu"]


def test_a_failed_job_is_shown_and_the_buttons_come_back(tiny_demo):
    """A job that fails in its thread (here: a GPU that does not exist) ends FAILED, visibly."""
    from app.jobs import FAILED, TrainingJob

    at = new_app()
    job = TrainingJob(tasks=[], make_base=lambda: None, data=None, model_label="m", data_label="d")
    job.status, job.error = FAILED, "device='cuda' was asked for, but this machine has no usable CUDA GPU."
    at.session_state["job"] = job
    at.run()
    no_errors_but(at, job.error)
    assert not at.button(key="run_demo").disabled
    at.switch_page("../pages/model_data.py").run()
    at.button(key="use_sample").click().run()
    at.button(key="use_builtin").click().run()
    at.switch_page("../pages/train.py").run()
    no_errors_but(at, job.error)
    assert not at.button[0].disabled, "Start training is enabled again"


def no_errors_but(at: AppTest, message: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [message]


def test_no_chart_preload_timer_runs_beside_a_training(tiny_demo, monkeypatch):
    """A fresh session preloads the chart library on a timer (app.ui.preload_charts); a demo clicked at once
    stops that timer while it trains: with the browser slowed 4x, the timer's ticks doubled a tiny demo."""
    import streamlit

    declared: list[str] = []
    fragment = streamlit.fragment

    def spy(func=None, *, run_every=None, **kwargs):
        def wrap(f):
            declared.append(f.__qualname__)
            return fragment(f, run_every=run_every, **kwargs)

        return wrap if func is None else wrap(func)

    monkeypatch.setattr(streamlit, "fragment", spy)
    at = new_app()
    assert "preload_charts.<locals>.tick" in declared, "a new session preloads the charts"
    declared.clear()
    at.button(key="run_demo").click().run()
    no_errors(at)
    job = at.session_state["job"]
    try:
        assert job.active, "the demo trains"
        assert declared and "preload_charts.<locals>.tick" not in declared, declared  # the progress: yes
    finally:
        job.cancel()
        job.join(120)
    at.run()
    assert "preload_charts.<locals>.tick" in declared, "after the training the preload comes back"
