"""Every figure builder runs on small real results and has the expected traces; captions are complete."""

from __future__ import annotations

import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from metalora import MetaLoRAConfig, get_model
from metalora import figures as F
from metalora.analysis import (
    aggregate_runs,
    analyse_model,
    cluster_scaling,
    collect_scaling,
    compare_inputs,
    component_energy,
    core_spectra,
    model_rank_sweeps,
    rank_sweep,
    scaling_stats,
    summarise_domains,
    summarise_epochs,
)
from metalora.data import load_builtin
from metalora.errors import ConfigError, DataError
from metalora.figures.captions import CAPTIONS, LABELS, LANGUAGES, TERMS, caption, label, term
from metalora.figures.palette import OKABE_ITO, categorical
from metalora.i18n import placeholders
from metalora.models import build_model
from tests.helpers import randomise_adapters, torch_threads

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def results():
    """A tiny MetaLoRA-TR model (random adapters) on 40 real digits in two domains, and its analyses."""
    with torch_threads(1):
        torch.manual_seed(0)
        ds = load_builtin("digits", image_size=16, domains=("clean", "inverted"), samples_per_class=4).train
        base = build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16))
        model = get_model(base, MetaLoRAConfig(method="meta-tr", rank=3)).eval()
        randomise_adapters(model, 0.3)
        table = collect_scaling(model, ds)
        layers = ["stages.0.0.conv1", "fc"]
        sweeps = model_rank_sweeps(model, table, layers=layers, n_inputs=12)
    runs = [
        {
            "method": m,
            "rank": 4,
            "seed": s,
            "accuracy": 0.6 + 0.1 * k + 0.01 * s,
            "flops": 1e6 * (k + 1),
            "trainable": 1000 * (k + 1),
            "per_domain": {"clean": 0.7 + 0.05 * k, "inverted": 0.5 + 0.02 * s},
        }
        for k, m in enumerate(["lora", "cp", "meta-tr"])
        for s in range(3)
    ]
    return {
        "model": model,
        "table": table,
        "sweeps": sweeps,
        "spectra": core_spectra(model, layers),
        "energy": component_energy(model, table, layers),
        "clusters": cluster_scaling(table, k_range=(2, 4)),
        "runs": runs,
    }


def _check(f: F.Figure, key: str) -> None:
    assert isinstance(f, F.Figure) and isinstance(f.fig, go.Figure) and f.key == key
    layout = f.fig.layout
    assert layout.title.text and layout.xaxis.title.text and layout.yaxis.title.text
    assert set(f.caption) == set(LANGUAGES) and all(f.caption[lang] for lang in LANGUAGES)
    assert "{" not in f.caption["en"] and JAPANESE.search(f.caption["ja"])
    for trace in f.fig.data:
        if trace.type not in ("heatmap",) and trace.hoverinfo != "skip":
            assert trace.hovertext is not None and len(trace.hovertext)


def test_accuracy_by_epochs():
    runs = [
        {"method": m, "epochs": e, "seed": s, "accuracy": base + 0.01 * s + (0.2 if e == 10 else 0.0)}
        for m, base in (("LoRA", 0.5), ("MetaLoRA-TR", 0.7))
        for e in (3, 10)
        for s in range(3)
    ] + [{"method": "head only", "epochs": 3, "seed": 0, "accuracy": 0.4}]  # one length only, one run
    f = F.accuracy_by_epochs(summarise_epochs(runs))
    _check(f, "accuracy_by_epochs")
    assert [t.name for t in f.fig.data] == ["3 epochs", "10 epochs"]
    assert list(f.fig.data[0].x) == ["LoRA", "MetaLoRA-TR", "head only"]
    np.testing.assert_allclose(f.fig.data[0].y, [51.0, 71.0, 40.0], atol=1e-9)
    np.testing.assert_allclose(f.fig.data[1].y[:2], [71.0, 91.0], atol=1e-9)
    assert np.isnan(f.fig.data[1].y[2])  # head only never ran 10 epochs: no bar, not a zero
    np.testing.assert_allclose(f.fig.data[1].error_y.array, [1.0, 1.0, 0.0], atol=1e-9)
    assert "(n=3 runs)" in f.fig.data[1].hovertext[0] and "(n=1 runs)" in f.fig.data[0].hovertext[2]
    ja = F.accuracy_by_epochs(summarise_epochs(runs), lang="ja")
    assert ja.fig.data[1].name == "10 エポック" and JAPANESE.search(ja.fig.layout.title.text)
    with pytest.raises(DataError, match="how many epochs"):
        summarise_epochs([{"method": "LoRA", "accuracy": 0.5}])
    no_epochs = aggregate_runs([{"method": "LoRA", "accuracy": 0.5}], by=("method", "epochs"))
    with pytest.raises(DataError, match="how many epochs"):
        F.accuracy_by_epochs(no_epochs)  # aggregated, but without a training length
    with pytest.raises(DataError, match=r"summarise_epochs\(rows\)"):
        F.accuracy_by_epochs(runs)  # raw runs: the figure does not aggregate them itself


def test_scaling_figures(results):
    table = results["table"]
    f = F.scaling_heatmap(table, "fc")
    _check(f, "scaling_heatmap")
    z = np.asarray(f.fig.data[0].z)
    assert z.shape == (len(table), 3)
    assert sorted(np.asarray(f.fig.data[0].customdata)[:, 0]) == sorted(table.index)
    dom = table.domain[np.lexsort((table.index, table.y, table.domain))]
    assert np.all(np.diff(dom) >= 0)  # rows sorted by domain
    f = F.scaling_distributions(table, "fc", by="domain")
    _check(f, "scaling_distributions")
    assert f.trace_names() == ["clean", "inverted"] and f.fig.data[0].type == "box"
    assert F.scaling_distributions(table, "fc", by="class", kind="violin").fig.data[0].type == "violin"
    f = F.input_scaling(compare_inputs(table, 0))
    _check(f, "input_scaling")
    assert len(f.fig.data) == 2 and len(f.fig.data[0].x) == sum(table.ranks.values())
    np.testing.assert_allclose(f.fig.data[0].y, table.matrix()[0])
    np.testing.assert_allclose(f.fig.data[1].y, table.matrix().mean(0))  # the average input, from analysis
    assert set(f.fig.data[0].customdata) == {table.index[0]} and f.meta == {"row": 0, "other": None}
    comparison = compare_inputs(table, 0, 5)
    f = F.input_scaling(comparison)
    _check(f, "input_scaling_compare")
    assert [t.type for t in f.fig.data] == ["bar", "bar"] and f.meta == {"row": 0, "other": 5}
    np.testing.assert_allclose(f.fig.data[1].y, table.matrix()[5])
    assert f"{comparison.distance.overall:.3g}" in f.caption["en"]
    f = F.scaling_specificity(scaling_stats(table, "domain"))
    _check(f, "scaling_specificity")
    assert list(f.fig.data[0].x) == table.layers


def test_figures_name_layers_for_people(results):
    """Ticks, titles and captions show a layer's name for people, hover texts add the code name, and the
    figure's categories and ``meta`` keep the code name."""
    table, sweeps = results["table"], results["sweeps"]
    f = F.scaling_specificity(scaling_stats(table, "domain"))
    assert list(f.fig.data[0].x) == table.layers == list(f.fig.layout.xaxis.tickvals)  # unique categories
    ticks = list(f.fig.layout.xaxis.ticktext)
    assert ticks[0] == "Stem" and ticks[-1] == "Output layer" and "Stage 2 · block 1 · conv 2" in ticks
    assert len(set(ticks)) == len(ticks)
    k = table.layers.index("stages.1.0.conv2")
    assert f.fig.data[0].hovertext[k].startswith("Stage 2 · block 1 · conv 2 (stages.1.0.conv2): ")
    ja = F.scaling_specificity(scaling_stats(table, "domain"), lang="ja")
    assert "ステージ 2・ブロック 1・畳み込み 2" in ja.fig.layout.xaxis.ticktext
    assert ja.fig.data[0].hovertext[-1].startswith("出力層（fc）：")

    f = F.scaling_heatmap(table, "stages.1.0.shortcut.0")
    assert f.meta["layer"] == "stages.1.0.shortcut.0" and f.fig.data[0].name == "Stage 2 · block 1 · shortcut"
    assert "Stage 2 · block 1 · shortcut" in f.fig.layout.title.text
    assert "layer Stage 2 · block 1 · shortcut;" in f.caption["en"]
    assert "ステージ 2・ブロック 1・ショートカット" in f.caption["ja"]
    f = F.scaling_distributions(table, "fc", lang="ja")
    assert f.meta["layer"] == "fc" and "出力層" in f.fig.layout.title.text and "出力層" in f.caption["ja"]

    f = F.input_scaling(compare_inputs(table, 0))
    assert list(f.fig.data[0].x) == table.column_names()
    # one tick per layer, at its first scaling factor, named for people
    firsts = [c for c in table.column_names() if c.endswith("[0]")]
    assert list(f.fig.layout.xaxis.tickvals) == firsts and len(firsts) == len(table.layers)
    assert f.fig.layout.xaxis.ticktext[0] == "Stem" and f.fig.layout.xaxis.ticktext[-1] == "Output layer"
    assert (
        f.fig.data[0]
        .hovertext[-1]
        .endswith("<br>Output layer (fc) · scaling factor 2: " + f"{f.fig.data[0].y[-1]:.3f}")
    )

    f = F.error_vs_rank(sweeps["fc"])
    assert f.meta["layer"] == "fc" and f.fig.layout.title.text.endswith(": Output layer")
    assert "layer Output layer" in f.caption["en"] and "出力層" in f.caption["ja"]
    assert f.fig.data[0].hovertext[0].startswith("Output layer (fc) · ")
    f = F.spectra_figure(results["spectra"]["stages.0.0.conv1"], lang="ja")
    assert (
        f.meta["layer"] == "stages.0.0.conv1"
        and "ステージ 1・ブロック 1・畳み込み 1" in f.fig.layout.title.text
    )
    assert f.fig.data[0].hovertext[0].startswith("ステージ 1・ブロック 1・畳み込み 1（stages.0.0.conv1）・")
    f = F.component_energy_figure(results["energy"]["fc"], layer={"en": "the head", "ja": "頭"})
    assert f.meta["layer"] == "fc" and "the head" in f.caption["en"] and "頭" in f.caption["ja"]
    assert f.fig.data[0].hovertext[0].startswith("the head (fc) · ")
    f = F.effective_ranks(sweeps, given={"stages.0.0.conv1": 3, "fc": 3})
    assert list(f.fig.data[0].x) == list(sweeps) and list(f.fig.layout.xaxis.ticktext) == [
        "Stage 1 · block 1 · conv 1",
        "Output layer",
    ]
    assert f.fig.data[-1].hovertext[1] == "Output layer (fc): rank given 3"
    # named among every layer of the model: stem.0 alone is "Stem", next to a stem.1 it is "Stem 1"
    one = next(iter(sweeps.values()))
    assert list(F.effective_ranks({"stem.0": one}).fig.layout.xaxis.ticktext) == ["Stem"]
    among = F.effective_ranks({"stem.0": one}, all_layers=["stem.0", "stem.1"])
    assert list(among.fig.layout.xaxis.ticktext) == ["Stem 1"]


def test_rank_figures(results):
    sweep = results["sweeps"]["fc"]
    f = F.error_vs_rank(sweep)
    _check(f, "error_vs_rank" if all(sweep.within_tol(m) for m in sweep.errors) else "error_vs_rank_knee")
    names = f.trace_names()
    assert {"CP", "Tucker", "Tensor Ring"} <= set(names) and any("Tolerance" in n for n in names)
    assert max(f.fig.data[0].y) <= 100.0 + 1e-9
    f = F.spectra_figure(results["spectra"]["stages.0.0.conv1"])
    _check(f, "spectra")
    assert len(f.fig.data) == len(results["spectra"]["stages.0.0.conv1"]) and f.fig.layout.yaxis.type == "log"
    f = F.component_energy_figure(results["energy"]["fc"])
    _check(f, "component_energy")
    assert sum(f.fig.data[0].y) == pytest.approx(100.0)
    f = F.effective_ranks(results["sweeps"], given={"stages.0.0.conv1": 3, "fc": 3})
    _check(f, "effective_ranks")
    assert len(f.fig.data) == 4


def test_cluster_figures(results, monkeypatch):
    table, res = results["table"], results["clusters"]
    for colour_by, n in (("cluster", res.k), ("domain", 2)):
        f = F.cluster_map(res, table, colour_by)
        _check(f, "cluster_map")
        assert len(f.fig.data) == n + 1  # one trace per group + the typical inputs
        assert f.fig.layout.dragmode == "lasso"  # dragging selects inputs, it does not pan
        data = np.concatenate([np.asarray(t.customdata) for t in f.fig.data[:-1]])
        assert sorted(data[:, 0]) == sorted(table.index) and sorted(data[:, 1]) == list(range(len(table)))
        assert "Principal component 1" in f.fig.layout.xaxis.title.text
        assert {t.type for t in f.fig.data} == {"scatter"}  # a small map is SVG: no WebGL set-up
    from metalora.figures import clusters as cluster_figures

    monkeypatch.setattr(cluster_figures, "WEBGL_FROM", len(table))  # a map that large is drawn with WebGL
    assert {t.type for t in F.cluster_map(res, table, "domain").fig.data} == {"scattergl"}
    f = F.silhouette_vs_k(res)
    _check(f, "silhouette_vs_k")
    assert list(f.fig.data[0].x) == [2, 3, 4] and f.fig.data[1].x[0] == res.k


def test_cost_figures(results):
    runs = results["runs"]
    f = F.accuracy_vs_cost(runs, cost="flops")
    _check(f, "accuracy_vs_cost")
    assert f.trace_names()[-1] == "Pareto front" and len(f.fig.data) == 4
    assert "GFLOPs" in f.fig.layout.xaxis.title.text
    agg = aggregate_runs(runs)
    f = F.accuracy_vs_cost(agg, cost="trainable")
    assert f.fig.data[0].error_y.array is not None and "n=3" in f.fig.data[0].hovertext[0]
    front = f.meta["front"]
    assert [round(p[1], 6) for p in front] == [round(100 * r["accuracy_mean"], 6) for r in agg]  # all on it
    f = F.domain_accuracy(summarise_domains(runs))
    _check(f, "domain_accuracy")
    assert len(f.fig.data) == 3 and list(f.fig.data[0].x) == ["clean", "inverted"]
    np.testing.assert_allclose(
        f.fig.data[0].error_y.array, [0.0, 100 * np.std([0.5, 0.52, 0.54], ddof=1)], atol=1e-9
    )

    with pytest.raises(DataError, match=r"summarise_domains\(rows\)"):
        F.domain_accuracy(runs)  # raw runs: the figure does not aggregate them itself


def _knee_sweep():
    """A matrix whose singular values drop after two, then decline slowly: no rank up to 4 gets within 10 %."""
    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    v, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    sv = np.array([10.0, 5.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    return rank_sweep(u @ np.diag(sv) @ v.T, ranks=range(1, 5), methods=("tucker",), name="fc")


def test_error_vs_rank_says_which_rule_chose_the_star():
    within = rank_sweep(np.outer(np.arange(1.0, 7.0), np.arange(1.0, 5.0)), ranks=range(1, 4), name="fc")
    assert all(within.within_tol(m) for m in within.errors)
    f = F.error_vs_rank(within)
    _check(f, "error_vs_rank")
    stars = [t for t in f.fig.data if t.mode == "markers"]
    assert len(stars) == 3 and {t.marker.symbol for t in stars} == {"star"}
    assert "10 %" in f.caption["en"] and "10 %" in f.caption["ja"] and "bends" not in f.caption["en"]
    knee = _knee_sweep()
    assert knee.rule["tucker"] == "knee" and knee.effective_error["tucker"] > knee.tol
    f = F.error_vs_rank(knee, layer="the last layer")
    _check(f, "error_vs_rank_knee")
    (star,) = [t for t in f.fig.data if t.mode == "markers"]
    assert star.marker.symbol == "star-open" and "not within tolerance" in star.name
    assert star.x[0] == 2 and star.y[0] == pytest.approx(100 * knee.effective_error["tucker"])
    lost = f"{100 * knee.effective_error['tucker']:.3g} %"
    assert lost in f.caption["en"] and lost in f.caption["ja"] and "bends" in f.caption["en"]
    assert "the last layer" in f.caption["en"] and "the last layer" in f.fig.layout.title.text
    assert JAPANESE.search(F.error_vs_rank(knee, lang="ja").fig.data[1].name)
    bars = F.effective_ranks({"a": within, "fc": knee})
    _check(bars, "effective_ranks")
    tucker = next(t for t in bars.fig.data if t.name == "Tucker")
    assert list(tucker.marker.pattern.shape) == ["", "/"]  # the knee-chosen bar is hatched
    assert "knee rule" in tucker.hovertext[1] and "tolerance rule" in tucker.hovertext[0]


def test_japanese_labels(results):
    f = F.error_vs_rank(results["sweeps"]["fc"], lang="ja")
    assert JAPANESE.search(f.fig.layout.title.text) and JAPANESE.search(f.fig.layout.xaxis.title.text)
    with pytest.raises(ConfigError):
        F.silhouette_vs_k(results["clusters"], lang="fr")


def test_captions_are_complete_in_both_languages():
    assert set(F.BUILDERS) == set(CAPTIONS)
    for table in (CAPTIONS, LABELS, TERMS):
        for key, entry in table.items():
            assert set(entry) == set(LANGUAGES), key
            assert all(entry[lang].strip() for lang in LANGUAGES), key
            assert placeholders(entry["en"]) == placeholders(entry["ja"]), key
    for key, entry in CAPTIONS.items():
        assert JAPANESE.search(entry["ja"]) and entry["ja"] != entry["en"], key
        assert entry["en"].count(". ") == 0 and entry["ja"].count("。") == 1, f"{key}: one sentence"


def test_one_lookup_rule_and_one_name_for_the_scaling_factors():
    for lookup in (lambda: term("nonsense"), lambda: label("axis.nonsense"), lambda: caption("nonsense")):
        with pytest.raises(KeyError):
            lookup()
    with pytest.raises(ConfigError):
        term("domain", "fr")
    assert term("domain", "ja") == "入力の種類" and tuple(LANGUAGES) == ("en", "ja")
    banned = re.compile(r"\bseeds?\b|knob|rank component|つまみ|シード", re.IGNORECASE)
    for table in (CAPTIONS, LABELS, TERMS):
        for key, entry in table.items():
            for lang in LANGUAGES:
                assert not banned.search(entry[lang]), f"{key} ({lang}): {entry[lang]}"
    assert (
        "スケーリング係数" in CAPTIONS["scaling_heatmap"]["ja"]
        and "scaling factors" in CAPTIONS["scaling_heatmap"]["en"]
    )


def test_the_words_inside_figures_come_from_the_tables(results):
    from metalora.analysis import InputFacts

    assert F.mode_name("left bond", "ja") == "左の結合" and F.mode_name("mode 3", "en") == "mode 3"
    with pytest.raises(KeyError, match="nonsense"):
        F.mode_name("nonsense")  # one lookup rule: an unknown word raises, it is never shown raw
    facts = InputFacts(index=12, label="3", domain="鏡像", predicted="5")
    assert F.describe_input(facts, "ja") == "入力 #12・クラス 3・鏡像・予測 5"
    assert F.describe_input(InputFacts(12, "3", "mirrored"), "en") == "input #12 · class 3 · mirrored"
    with pytest.raises(ConfigError, match="cost='energy'"):
        F.accuracy_vs_cost(results["runs"], cost="energy")  # a cost without its words in the tables
    ja = F.accuracy_vs_cost(results["runs"], cost="flops", lang="ja")
    assert ja.fig.data[0].hovertext[0].startswith("LoRA・ランク 4・繰り返し #0<br>正解率 ")
    assert ja.fig.data[-1].hovertext[0].startswith("パレートフロント：")


def test_palette_is_colour_blind_safe_first():
    colours = categorical(12)
    assert colours[:8] == list(OKABE_ITO) and len(set(colours)) == 12


def test_report_runs_every_analysis_and_draws_its_figures(results):
    with torch_threads(1):
        data = load_builtin("digits", image_size=16, domains=("clean", "inverted"), samples_per_class=3).train
        report = analyse_model(results["model"], data, layers=["fc"], cost_batch=4)
    assert report.skipped == {} and set(report.seconds) == {"scaling", "ranks", "clusters", "cost"}
    assert list(report.sweeps) == ["fc"] and report.cost.flops_adapted > report.cost.flops_base
    json.dumps(report.to_dict())
    figs = F.report_figures(report, lang="ja")
    keys = {f.key for f in figs}
    assert keys >= {
        "scaling_heatmap",
        "input_scaling",
        "input_scaling_compare",
        "cluster_map",
        "component_energy",
    }
    assert keys & {"error_vs_rank", "error_vs_rank_knee"}
    assert [c.rows for c in report.inputs] == [[0], [0, 1]]
    assert all(JAPANESE.search(f.fig.layout.title.text) for f in figs)
    # every text of every figure (titles, axes, legends, trace names, hover texts) is Japanese, but for the
    # names the data and the model bring as they are: the domains (a dashboard passes them translated) and
    # the layers
    from tests.test_app_japanese import english_words, figure_texts

    names = set(results["model"].adapted_layers()) | set(data.domain_names)
    texts = [t for f in figs for t in figure_texts(json.loads(f.fig.to_json()))]
    assert any("スケーリング係数 0：" in t for t in texts) and any("入力 #" in t for t in texts)
    english = {w: t for t in texts for w in english_words(t, names)}
    assert not english, english
    en = F.report_figures(report, lang="en")
    hovers = [
        str(h)
        for f in en
        for trace in f.fig.data
        if trace.hovertext is not None
        for h in np.asarray(trace.hovertext, dtype=object).ravel()
    ]
    assert any("scaling factor 0: " in h for h in hovers) and any(h.startswith("input #") for h in hovers)


def test_a_long_legend_moves_to_the_right_so_it_cannot_cover_the_title():
    import plotly.graph_objects as go

    from metalora.figures.base import MAX_TOP_LEGEND, style

    few, many = go.Figure(), go.Figure()
    for i in range(MAX_TOP_LEGEND):
        few.add_trace(go.Scatter(x=[i], y=[i], name=f"m{i}"))
    for i in range(MAX_TOP_LEGEND + 1):
        many.add_trace(go.Scatter(x=[i], y=[i], name=f"m{i}"))
    assert style(few, "t", "x", "y").layout.legend.orientation == "h"
    legend = style(many, "t", "x", "y").layout.legend
    assert legend.orientation == "v" and legend.x > 1


def test_the_html_page_embeds_plotly_once_and_is_reproducible_when_undated():
    from metalora.figures.html import html_page

    a, b = go.Figure(go.Bar(y=[1, 2])), go.Figure(go.Scatter(y=[3, 1]))
    items = [("First", a, "One sentence."), ("Second", b, "Another <sentence>.")]
    page = html_page("Report", items, [{"run": 1, "method": "LoRA"}], lang="ja", dated=False)
    assert page == html_page("Report", items, [{"run": 1, "method": "LoRA"}], lang="ja", dated=False)
    assert page.count("Plotly.newPlot") == 2 and page.count("plotly.js v") == 1  # one embedded library
    assert 'id="figure-0"' in page and 'id="figure-1"' in page and '<html lang="ja">' in page
    assert "Another &lt;sentence&gt;." in page and "<td>LoRA</td>" in page
