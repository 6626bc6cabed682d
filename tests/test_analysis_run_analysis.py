"""RunAnalysis, the one door from an application to analysis: every view computed once per object, for
MetaLoRA and static methods, with the library's clear error where a view does not apply (LoRA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metalora.analysis.run_analysis as ra
from metalora import MetaLoRAConfig, get_model
from metalora.analysis import RunAnalysis, analyse_model, compare_inputs, scaling_stats
from metalora.data import load_builtin
from metalora.errors import ConfigError
from metalora.models import build_model
from tests.helpers import randomise_adapters

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits():
    return load_builtin("digits", image_size=16, domains=("clean", "inverted"), samples_per_class=3).train


def _model(method: str, rank: int = 3):
    torch.manual_seed(0)
    base = build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16))
    model = get_model(base, MetaLoRAConfig(method=method, rank=rank)).eval()
    randomise_adapters(model, 0.3)
    return model


def _count(monkeypatch, name: str) -> list[int]:
    """Replace ``run_analysis.<name>`` by a wrapper that counts its calls; returns the counter."""
    calls = [0]
    real = getattr(ra, name)

    def counted(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(ra, name, counted)
    return calls


def test_every_view_is_computed_once_and_then_returned_as_is(monkeypatch, digits):
    collect, sweeps, stats = (
        _count(monkeypatch, n) for n in ("collect_scaling", "model_rank_sweeps", "scaling_stats")
    )
    view = RunAnalysis(_model("meta-tr"), digits, max_inputs=16, rank_inputs=8)
    table = view.scaling_table()
    assert view.scaling_table() is table and collect[0] == 1 and len(table) == 16 < len(digits)
    by_domain = view.scaling_stats("domain")
    assert view.scaling_stats("domain") is by_domain and stats[0] == 1
    assert view.scaling_stats("class") is not by_domain and stats[0] == 2  # another grouping, another view
    first = view.rank_sweeps(["fc"])
    assert view.rank_sweeps(("fc",)) is first and sweeps[0] == 1 and list(first) == ["fc"]
    comparison = view.input_comparison(0, 1)
    assert view.input_comparison(0, 1) is comparison and view.input_comparison(0) is not comparison
    assert collect[0] == 1  # every view above read the one scaling table


def test_meta_tr_views_match_the_plain_functions(digits):
    model = _model("meta-tr")
    view = RunAnalysis(model, digits, max_inputs=30, rank_inputs=8, seed=2)
    assert (view.method, view.has_scaling) == ("meta-tr", True)
    assert view.layers == list(model.adapted_layers()) and view.adapter_ranks() == dict.fromkeys(
        view.layers, 3
    )
    table = view.scaling_table()
    assert table.layers == view.layers
    stats = view.scaling_stats("domain")
    np.testing.assert_allclose(stats["fc"].mean, scaling_stats(table, "domain")["fc"].mean)
    one = view.input_comparison(3)
    np.testing.assert_allclose(one.average, compare_inputs(table, 3).average)
    two = view.input_comparison(3, 4)
    assert two.distance.overall == pytest.approx(view.scaling_distance(3, 4).overall)  # both standardised
    assert set(view.rank_sweeps()) == set(view.layers)  # default: every layer
    assert list(view.spectra(["fc"])) == ["fc"] and view.component_energy(["fc"])[
        "fc"
    ].share.sum() == pytest.approx(1)
    clusters = view.clusters()
    assert len(clusters.labels) == len(table) and clusters.random_state == 2
    assert view.latency_s() > 0 and view.latency_s() == view.latency_s()


def test_static_cp_has_constant_scaling_factors_and_needs_no_table(monkeypatch, digits):
    collect = _count(monkeypatch, "collect_scaling")
    model = _model("cp")
    view = RunAnalysis(model, digits, max_inputs=12)
    assert (view.method, view.has_scaling) == ("cp", True)
    sweeps = view.rank_sweeps(["fc"])
    energy = view.component_energy(["fc"])
    assert collect[0] == 0  # a static update does not depend on the input
    assert sweeps["fc"].shape == (10, 16) and energy["fc"].variation_share.sum() == 0
    table = view.scaling_table()
    core = model.adapted_layers()["fc"].adapter_core.detach().numpy()
    np.testing.assert_allclose(table.factors["fc"], np.tile(core, (12, 1)))


def test_lora_scaling_views_are_refused_with_the_library_error(digits):
    view = RunAnalysis(_model("lora"), digits, max_inputs=12)
    assert (view.method, view.has_scaling) == ("lora", False)
    for ask in (
        view.scaling_table,
        view.clusters,
        lambda: view.scaling_stats("domain"),
        view.component_energy,
    ):
        with pytest.raises(ConfigError, match="LoRA has no scaling factors"):
            ask()
    assert list(view.rank_sweeps(["fc"])) == ["fc"]  # the update itself still has ranks
    fresh = RunAnalysis(_model("lora"), digits, max_inputs=12)
    fresh.warm(rank_layers=1)  # no scaling factors to warm, and no error; the update's ranks are warmed
    assert "clusters" not in fresh._memo and ("ranks", tuple(fresh.layers[:1])) in fresh._memo


def test_warm_leaves_the_sweeps_of_wide_layers_until_asked(monkeypatch, digits):
    monkeypatch.setattr(ra, "WARM_MAX_WEIGHTS", 10)  # every layer of the small model is "wide" now
    sweeps = _count(monkeypatch, "model_rank_sweeps")
    view = RunAnalysis(_model("meta-tr"), digits, max_inputs=30)
    view.warm(rank_layers=2)
    assert "clusters" in view._memo and sweeps[0] == 0
    assert not any(isinstance(k, tuple) and k[0] in ("ranks", "spectra") for k in view._memo)


def test_warm_computes_the_clusters_ahead(monkeypatch, digits):
    clusters = _count(monkeypatch, "cluster_scaling")
    view = RunAnalysis(_model("meta-tr"), digits, max_inputs=30)
    sweeps = _count(monkeypatch, "model_rank_sweeps")
    view.warm(rank_layers=2)
    assert clusters[0] == 1 and "scaling" in view._memo and "clusters" in view._memo
    assert ("scaling_stats", "domain") in view._memo
    first = tuple(view.layers[:2])
    assert sweeps[0] == 1 and ("ranks", first) in view._memo and ("spectra", first) in view._memo
    assert view.rank_sweeps(list(first)) is view._memo[("ranks", first)] and sweeps[0] == 1
    result = view.clusters()
    assert clusters[0] == 1 and result is view._memo["clusters"] and result.k >= 2


def test_analyse_model_goes_through_run_analysis(monkeypatch, digits):
    built = []
    real = ra.RunAnalysis.__init__

    def init(self, *args, **kwargs):
        built.append(kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ra.RunAnalysis, "__init__", init)
    report = analyse_model(_model("lora"), digits, include=("scaling", "ranks"), layers=["fc"], seed=1)
    assert built == [{"max_inputs": 2000, "rank_inputs": 64, "seed": 1}]
    assert report.table is None and "no scaling factors" in report.skipped["scaling"]
    assert list(report.sweeps) == ["fc"] and report.energy == {} and report.cost is None


def test_contractions_count_what_training_ran_and_survive_save_and_load(tmp_path, digits):
    """Training's contractions are saved with the adapter and read back; the analysis's own inference passes
    are counted apart."""
    from metalora import load_adapter

    torch.manual_seed(0)
    base = build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16))
    model = get_model(base, MetaLoRAConfig(method="meta-tr", rank=3, contraction="kernel")).train()
    x = torch.as_tensor(np.asarray(digits.x[:4]))
    model(x).sum().backward()
    layers = len(model.adapted_layers())
    assert RunAnalysis(model, digits).contractions() == {"train": {"kernel": layers}, "infer": {}}
    model.save_adapter(tmp_path)
    torch.manual_seed(0)
    fresh = build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16))
    loaded = load_adapter(fresh, tmp_path).eval()
    analysis = RunAnalysis(loaded, digits)
    assert analysis.contractions()["train"] == {"kernel": layers}
    analysis.latency_s()  # an inference pass on the loaded model's own (planned) contractions
    assert sum(analysis.contractions()["infer"].values()) == layers


def test_latency_against_is_paired_and_measured_once_per_reference(monkeypatch, digits):
    import gc
    import weakref

    compare = _count(monkeypatch, "compare_latency")
    view = RunAnalysis(_model("meta-tr"), digits, latency_batch=4)
    ref = RunAnalysis(_model("lora"), digits)
    timed = view.latency_against(ref)
    assert view.latency_against(ref) is timed and compare[0] == 1  # kept: one measurement per pair
    assert set(timed.median_s) == {"model", "reference"} and set(timed.diff_s) == {"model"}
    assert (timed.reference, timed.rounds, timed.batch_size) == ("reference", ra.PAIRED_ROUNDS, 4)
    other = RunAnalysis(_model("cp"), digits)
    assert view.latency_against(other) is not timed and compare[0] == 2  # another reference: measured anew
    assert view.latency_against(ref) is timed and compare[0] == 2
    gone = weakref.ref(other)
    del other
    gc.collect()
    assert gone() is None, "the analysis must not keep another run's model alive"
    assert view.latency_s() > 0  # the run's own latency stays for the pages that draw it
