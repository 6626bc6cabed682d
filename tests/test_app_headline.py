"""The meeting dashboard's result card, the demo at matched budgets, and readings that follow the numbers.

One tiny demo (``tests/app_support.py``) serves the module: its two runs are LoRA and MetaLoRA-TR at the
ranks the library's rank matching gives one budget (LoRA's count at ``DEMO_RANK``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import headline, views
from app.strings import STRINGS, domain_name, t
from metalora.analysis.cost import LatencyComparison
from metalora.analysis.run_analysis import PAIRED_ROUNDS
from metalora.methods import method_label
from metalora.training.demo import DEMO_METHODS, DEMO_RANK
from tests.app_support import environment, new_app, own_runs, session_runs, tiny_env


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with environment(tiny_env(tmp_path_factory.mktemp("headline"))) as values:
        yield values


@pytest.fixture(scope="module")
def demo(env) -> AppTest:
    at = new_app()
    at.button(key="run_demo").click().run()
    assert at.session_state["job"].join(120), "training did not finish in time"
    at.run()
    assert at.session_state["job"].status == "done"
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def sequence(at: AppTest) -> list[str]:
    """The main area's texts in page order (titles, headers, metric labels, markdown)."""

    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    out = []
    for node in walk(at.main):
        kind = getattr(node, "type", "")
        if kind in ("title", "subheader", "header", "markdown") and not node.value.startswith("<style>"):
            out.append(node.value)
        elif kind == "metric":
            out.append(node.label)
    return out


# ----------------------------------------------------------------------------- matched budgets
def test_the_demo_trains_both_methods_at_one_budget(demo):
    from app import resources

    runs = {r.method: r for r in session_runs(demo)}
    assert list(runs) == list(DEMO_METHODS)
    match = resources.demo_ranks(demo.session_state["model_choice"].sample)
    assert match[DEMO_METHODS[0]] == DEMO_RANK, "the budget is LoRA's count at the demo's rank"
    assert match.budget == runs[DEMO_METHODS[0]].result.trainable_params
    for method, run in runs.items():
        assert run.result.rank == match[method]
        assert run.result.trainable_params == match.counts[method], method
    counts = [r.result.trainable_params for r in runs.values()]
    assert abs(counts[0] - counts[1]) <= headline.MATCHED * max(counts), counts
    assert match[DEMO_METHODS[1]] != DEMO_RANK, "at the same rank MetaLoRA-TR trains about twice as many"


def test_home_says_how_many_parameters_both_train(demo):
    demo.switch_page("../pages/home.py").run()
    no_errors(demo)
    match = demo.session_state["demo_budget"]
    details = ", ".join(f"{method_label(m, 'en')}: {n:,}" for m, n in match.counts.items())
    expected = STRINGS["demo_budget"]["en"].format(n=f"{match.budget:,}", details=details)
    assert expected in [m.value for m in demo.markdown]
    from app import measured

    # Home states the demo's measured times (app/measured.py, from benchmarks/bench_app.py --full)
    assert 0 < measured.DEMO_SECONDS <= measured.DEMO_SECONDS_FIRST
    said = STRINGS["demo_explain"]["en"].format(
        warm=round(measured.DEMO_SECONDS), cold=round(measured.DEMO_SECONDS_FIRST)
    )
    assert said in [m.value for m in demo.markdown] and "{" not in said
    # a shrunken demo (these tests') is not this computer's demo time: nothing recorded, nothing said
    assert measured.seconds_here() is None
    assert not [m.value for m in demo.markdown if m.value.startswith("On this computer")]


def test_home_says_what_the_last_demo_took_on_this_computer(demo):
    from app import measured

    path = measured.here_file()
    try:
        measured.record_here(41.7)
        demo.switch_page("../pages/home.py").run()
        no_errors(demo)
        said = STRINGS["demo_here"]["en"].format(s=42)
        assert said in [m.value for m in demo.markdown]
    finally:
        path.unlink(missing_ok=True)


def test_this_computers_demo_times_are_kept_whole_and_bounded(tmp_path, monkeypatch):
    from app import measured

    path = tmp_path / "home" / measured.HERE_FILE
    assert measured.seconds_here(path) is None  # none yet (the folder does not even exist)
    for s in (30.0, 31.0, 32.0, 33.0, 34.0, 35.5):
        measured.record_here(s, path)
    assert measured.seconds_here(path) == 35.5
    assert json.loads(path.read_text())["seconds"] == [31.0, 32.0, 33.0, 34.0, 35.5]  # the last 5
    for bad in (float("nan"), float("inf"), -3.0, 0.0, 10 * 24 * 3600.0):  # not a demo's time: ignored
        measured.record_here(bad, path)
    assert measured.seconds_here(path) == 35.5
    assert [p.name for p in path.parent.iterdir()] == [measured.HERE_FILE]  # no temporary file left
    for text in (
        "not json {",
        '["40"]',
        '{"seconds": "40"}',
        '{"seconds": [1e308, "x", null, -1, true]}',
        "",
    ):
        path.write_text(text)
        assert measured.seconds_here(path) is None, text  # damaged or not ours: as if none
    measured.record_here(36.0, path)  # and the next demo writes a good file again
    assert json.loads(path.read_text()) == {"seconds": [36.0]}

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(measured.os, "replace", full_disk)  # a failed write: logged, never raised
    measured.record_here(37.0, path)
    assert json.loads(path.read_text()) == {"seconds": [36.0]}, "the old file stays whole"
    assert [p.name for p in path.parent.iterdir()] == [measured.HERE_FILE], "its temporary file is removed"


# ----------------------------------------------------------------------------- the result card
def test_home_shows_the_result_card_after_the_demo(demo):
    demo.switch_page("../pages/home.py").run()
    no_errors(demo)
    runs = {r.method: r for r in session_runs(demo)}
    ref, ours = (runs[m] for m in DEMO_METHODS)
    a, b = method_label(ours.method, "en"), method_label(ref.method, "en")
    metrics = {m.label: m for m in demo.metric}
    assert metrics[a].value == headline.pct(ours.result.accuracy)
    assert metrics[b].value == headline.pct(ref.result.accuracy)
    assert metrics[a].delta.startswith(
        f"{100 * (ours.result.accuracy - ref.result.accuracy):+.1f} points vs {b}"
    )
    for domain, acc in ours.result.per_domain.items():  # every kind of input, by its display name
        shown = metrics[domain_name(domain, "en")]
        assert shown.value == headline.pct(acc)
        assert f"({headline.pct(ref.result.per_domain[domain])})" in shown.delta
    assert len(ours.result.per_domain) == 4
    count = metrics[STRINGS["headline_params"]["en"]].value
    assert count == f"{ours.result.trainable_params:,} vs {ref.result.trainable_params:,}"
    assert STRINGS["headline_time"]["en"] in metrics and STRINGS["headline_file"]["en"] in metrics
    facts = headline.headline(list(runs.values()))
    assert headline.sentence(facts, "en") in [m.value for m in demo.markdown]
    order = sequence(demo)
    assert order.index(STRINGS["home_title"]["en"]) < order.index(STRINGS["headline_header"]["en"])


@pytest.mark.parametrize("key", ["headline_delta", "headline_domain_delta"])
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_signed_difference_leads_its_text(key, lang):
    """st.metric draws the arrow (up, green / down, red) from the delta text's first character: a difference
    must come first in every language, or a loss shows as a gain."""
    assert STRINGS[key][lang].startswith("{delta}"), STRINGS[key][lang]


def test_the_cards_numbers_are_measured_on_the_runs(demo):
    from app import resources

    runs = {r.method: r for r in session_runs(demo)}
    facts = headline.headline(list(runs.values()))
    ref, ours = (runs[m] for m in DEMO_METHODS)
    assert facts.ours.run is ours and facts.ref.run is ref
    timed = views.analysis(ours).latency_against(views.analysis(ref))  # kept: what the card measured
    assert timed.batch_size == min(views.analysis(ours).latency_batch, len(ours.splits.test))
    for side, run, name in ((facts.ours, ours, "model"), (facts.ref, ref, "reference")):
        assert side.latency_per_image_s == pytest.approx(timed.median_s[name] / timed.batch_size)
        assert side.latency_images == timed.batch_size
        folder = Path(run.result.adapter_path)
        files = list(folder.rglob("*.safetensors"))
        assert files and side.file_bytes == sum(f.stat().st_size for f in files)
    base = resources.sample_model(demo.session_state["model_choice"].sample)[0]
    assert facts.base_bytes == sum(p.numel() * p.element_size() for p in base.parameters())
    assert 0 < facts.ours.file_bytes < facts.base_bytes
    assert facts.matched
    assert facts.rounds == timed.rounds == PAIRED_ROUNDS
    assert math.isclose(facts.extra_ms, 1000 * timed.diff_s["model"] / timed.batch_size)  # paired
    assert facts.extra_spread_s == pytest.approx(timed.diff_iqr_s["model"] / timed.batch_size)
    assert headline.headline(list(runs.values())).extra_ms == facts.extra_ms  # measured once per pair


def timing(diff_s: float) -> LatencyComparison:
    """A paired measurement of 16 images whose medians differ by 0.5 ms per image, its paired figure by
    ``diff_s`` per batch: the card must show the paired figure."""
    return LatencyComparison(
        median_s={"model": 0.032, "reference": 0.024},
        diff_s={"model": diff_s},
        diff_iqr_s={"model": 0.0016},
        times_s={"model": [0.032] * 7, "reference": [0.024] * 7},
        reference="reference",
        rounds=7,
        batch_size=16,
        device="cpu",
    )


@pytest.mark.parametrize(
    ("diff_s", "shown", "words"), [(0.0048, "+0.30", "more"), (-0.0048, "-0.30", "less")]
)
def test_the_card_shows_the_paired_figure(demo, monkeypatch, diff_s, shown, words):
    import metalora.analysis.run_analysis as ra

    calls = []

    def compare(models, x, **kwargs):
        calls.append((list(models), kwargs.get("reference")))
        return timing(diff_s)

    monkeypatch.setattr(ra, "compare_latency", compare)
    runs = [dataclasses.replace(r, analysis_memo=None) for r in session_runs(demo)]  # nothing measured yet
    facts = headline.headline(runs)
    assert calls == [(["model", "reference"], "reference")]
    assert facts.extra_ms == pytest.approx(1000 * diff_s / 16)  # not the medians' 0.5 ms
    assert facts.ours.latency_per_image_s == pytest.approx(0.002) and facts.ours.latency_images == 16
    assert facts.ref.latency_per_image_s == pytest.approx(0.0015) and facts.rounds == 7
    assert f"0.30 ms {words} per image" in headline.sentence(facts, "en")
    at = new_app()
    own_runs(at, runs)
    at.switch_page("../pages/accuracy.py").run()
    no_errors(at)
    card = {m.label: m for m in at.metric}[STRINGS["headline_time"]["en"]]
    assert card.value == f"{shown} ms"
    assert card.help == t("headline_time_help", "en", n=16, k=7, spread="0.10")
    assert len(calls) == 1, "measured once per pair, then kept with the run's analysis"


def test_a_run_that_cannot_be_rebuilt_has_no_extra_time(demo, monkeypatch):
    from metalora.errors import ModelError

    runs = {r.method: r for r in session_runs(demo)}
    ref, ours = (runs[m] for m in DEMO_METHODS)
    real = views.analysis

    def analysis(run):
        if run is ref:
            raise ModelError("Its folder is gone.")
        return real(run)

    monkeypatch.setattr(views, "analysis", analysis)
    facts = headline.headline([ref, ours])
    assert math.isnan(facts.extra_ms) and math.isnan(facts.extra_spread_s) and facts.rounds == 0
    assert math.isnan(facts.ref.latency_per_image_s) and facts.ref.latency_images == 0
    batch = min(real(ours).latency_batch, len(ours.splits.test))
    assert facts.ours.latency_per_image_s == pytest.approx(real(ours).latency_s() / batch)  # its own
    assert facts.ref.accuracy == ref.result.accuracy  # the recorded facts stay
    assert STRINGS["headline_untimed"]["en"] in headline.sentence(facts, "en")


def test_the_sentence_tells_an_unmatched_budget_and_a_loss(demo):
    runs = session_runs(demo)
    facts = headline.headline(runs)
    worse = dataclasses.replace(
        facts.ours, accuracy=facts.ref.accuracy - 0.05, trainable=3 * facts.ref.trainable
    )
    text = headline.sentence(dataclasses.replace(facts, ours=worse), "en")
    assert "different numbers of trainable parameters" in text
    assert "5.0 points less accurate" in text
    assert "with the same number of trainable parameters" in headline.sentence(facts, "en")
    assert " ms more per image" in text or " ms less per image" in text
    assert headline.sentence(facts, "ja").startswith("学習で見ていない画像で")


def test_accuracy_page_shows_the_card_first_in_meeting_mode(demo):
    demo.switch_page("../pages/home.py").run()
    demo.sidebar.toggle[0].set_value(True).run()
    try:
        for page, title in (("home", "home_title"), ("accuracy", "page_accuracy")):
            demo.switch_page(f"../pages/{page}.py").run()
            no_errors(demo)
            order = sequence(demo)
            assert order[0] == STRINGS["headline_header"]["en"], (page, order[:3])
            assert order.index(STRINGS[title]["en"]) > order.index(STRINGS["headline_file"]["en"]), page
    finally:
        demo.switch_page("../pages/home.py").run()
        demo.sidebar.toggle[0].set_value(False).run()


def test_accuracy_page_without_both_methods_says_what_the_card_needs(demo):
    at = new_app()
    own_runs(at, session_runs(demo)[:1])
    at.switch_page("../pages/accuracy.py").run()
    no_errors(at)
    assert headline.missing("en") in [c.value for c in at.caption]
    assert STRINGS["headline_header"]["en"] not in sequence(at)


# ----------------------------------------------------------------------------- cluster readings
def fake(ari: float, nmi: float, domains=(0, 1, 2, 3)):
    result = SimpleNamespace(ari={"domain": ari}, nmi={"domain": nmi})
    return result, SimpleNamespace(domain=np.repeat(np.array(domains), 5))


@pytest.mark.parametrize(
    ("ari", "nmi", "domains", "reading"),
    [
        (0.9, 0.8, (0, 1, 2, 3), "strong"),
        (views.STRONG, views.STRONG, (0, 1), "strong"),
        (0.7, 0.3, (0, 1, 2, 3), "partial"),  # one score high, the other not: partial
        (0.05, views.PARTIAL, (0, 1, 2, 3), "partial"),
        (0.1, 0.15, (0, 1, 2, 3), "weak"),
        (-0.02, 0.01, (0, 1), "weak"),
        (0.0, 0.0, (0,), "one_domain"),  # uploaded data without domains
        (math.nan, math.nan, (0,), "one_domain"),
    ],
)
def test_the_cluster_reading_follows_the_scores(ari, nmi, domains, reading):
    assert views.cluster_reading(*fake(ari, nmi, domains)) == reading


def test_high_scores_with_kinds_sharing_a_group_read_partial():
    """Strong scores, but two kinds share one group: the page must not say it separates the kinds."""
    from metalora.analysis import KindGroups

    shared = KindGroups(own=["inverted", "rotate90"], shared=[["clean", "mirror"]], spread=[])
    apart = KindGroups(own=["clean", "inverted", "rotate90", "mirror"], shared=[], spread=[])
    assert views.cluster_reading(*fake(0.62, 0.76), shared) == "partial"
    assert views.cluster_reading(*fake(0.62, 0.76), apart) == "strong"


def test_the_clusters_page_reads_the_measured_scores(demo):
    demo.switch_page("../pages/clusters.py").run()
    no_errors(demo)
    run = next(r for r in session_runs(demo) if r.has_scaling)
    view = views.analysis(run)
    result, table = view.clusters(), view.scaling_table()
    key = views.cluster_reading(result, table, view.kind_groups())
    ari, nmi = result.ari["domain"], result.nmi["domain"]
    reading = t(f"reading_{key}", "en", ari=f"{ari:.2f}", nmi=f"{nmi:.2f}")
    kinds = views.kinds_sentence(view.kind_groups(), "en")  # which kinds own a group, which share one
    assert kinds and kinds.endswith(".") and any(table.domain_names[0] in k for k in [kinds.lower()])
    assert demo.caption[0].value == f"{reading} {kinds}" == views.cluster_story(view, "en")
    assert "try training longer" not in demo.caption[0].value


def test_the_kinds_sentence_names_each_kind_once():
    from metalora.analysis import KindGroups

    groups = KindGroups(own=["inverted", "rotate90"], shared=[["clean", "mirror"]], spread=[])
    assert views.kinds_sentence(groups, "en") == (
        "Inverted and rotated 90° inputs each get a group of their own; clean and mirrored inputs share one group."
    )
    ja = views.kinds_sentence(groups, "ja")
    assert ja.count("。") == 2 and "反転と90° 回転" in ja and "鏡像" in ja
    one = KindGroups(own=["clean"], shared=[], spread=["inverted", "mirror", "rotate90"])
    assert views.kinds_sentence(one, "en") == (
        "Clean inputs get a group of their own; inverted, mirrored and rotated 90° inputs spread over several groups."
    )
    assert views.kinds_sentence(KindGroups(own=[], shared=[], spread=[]), "en") == ""


def test_one_kind_of_input_has_nothing_to_compare(demo, env):
    from dataclasses import replace

    from app.session_runs import TrainTask, train_one
    from metalora.data import DataSpec
    from metalora.training.demo import DEMO_TRAIN_CONFIG
    from metalora.training.run_registry import RunRegistry

    choice = demo.session_state["model_choice"]
    spec = DataSpec(domains=("clean",), samples_per_class=10)
    task = TrainTask(method=DEMO_METHODS[1], rank=2, train=replace(DEMO_TRAIN_CONFIG, epochs=1))
    run = train_one(
        choice.frozen(),
        spec,
        task,
        model_label=choice.label,
        data_label="digits × 1",
        model_ref=choice.ref,
        registry=RunRegistry(),  # recorded, as the dashboard's runs are: the pages list runs from it
    )
    at = new_app()
    own_runs(at, [run])
    at.switch_page("../pages/clusters.py").run()
    no_errors(at)
    assert at.caption[0].value == STRINGS["reading_one_domain"]["en"]


def test_the_full_demo_promises_this_computers_last_time_and_records_its_own(tmp_path, monkeypatch):
    """The full demo's progress bar starts from the last demo on this computer (the measured benchmark's time
    before there is one), and the job records its own time when it succeeds."""
    from app import measured

    def script():
        import streamlit as st

        from app import demo_job, session

        demo_job.start_demo()
        job = session.job()
        job.cancel()  # only its settings matter here
        st.session_state["started"] = job

    with environment(tiny_env(tmp_path)):
        for key in ("METALORA_DEMO_EPOCHS", "METALORA_DEMO_SAMPLES"):  # the full demo, as users get it
            monkeypatch.delenv(key, raising=False)
        promised = []
        for recorded in (None, 44.0):
            if recorded is not None:
                measured.record_here(recorded)
            at = AppTest.from_function(script, default_timeout=60).run()
            no_errors(at)
            job = at.session_state["started"]
            assert job.join(60), "a cancelled job ends"
            promised.append(job.expected_s)
            assert job.on_done is measured.record_here
        assert promised == [measured.DEMO_SECONDS, 44.0]
