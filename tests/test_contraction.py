"""The contraction planner: it times the exact contractions on the real input, keeps the fastest, caches the
choice on disk, falls back to the cost model, obeys a forced path, and shows its choice in the layer table."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from metalora import MetaLoRAConfig, get_model
from metalora.adapters import contraction
from metalora.adapters.injection import DISPATCH
from metalora.errors import ConfigError
from tests.helpers import TinyResNet, randomise_adapters

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def timing(monkeypatch, tmp_path):
    """Timing on, with a cache folder of the test's own, and every candidate on the shortlist."""
    monkeypatch.setattr(contraction, "TIMING_SHORTLIST", 1e9)
    monkeypatch.setenv("METALORA_CONTRACTION_TIMING", "1")
    monkeypatch.setenv("METALORA_CACHE_DIR", str(tmp_path))
    contraction.forget_cache()
    yield tmp_path / "contractions.json"
    contraction.forget_cache()


def meta_tr_conv(**kw):
    torch.manual_seed(0)
    base = nn.Conv2d(4, 6, 3, padding=1, **kw)
    layer = DISPATCH[("tr", nn.Conv2d)](base, rank=3, alpha=6.0, input_conditioned=True)
    randomise_adapters(layer)
    layer.input_scaling = torch.rand(2, 3) + 0.5
    return layer


def fake_clock(monkeypatch, seconds: dict[str, float], calls: list):
    """Make every timing say ``seconds[path]`` (the timed runs still run, so they must not fail)."""
    real = contraction.time_paths

    def timed(layer, x, batch, paths, train):
        real(layer, x, batch, paths, train)
        calls.append((tuple(paths), train))
        return {p: seconds[p] for p in paths}

    monkeypatch.setattr(contraction, "time_paths", timed)


def test_the_fastest_timed_path_is_kept_and_cached_on_disk(timing, monkeypatch):
    calls: list = []
    fake_clock(monkeypatch, {"factored": 3.0, "composed": 2.0, "kernel": 1.0}, calls)
    layer = meta_tr_conv()
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    y = layer(x)
    assert layer.last_contraction == ("kernel", "timed")
    assert calls == [(("factored", "composed", "kernel"), True)]
    y.sum().backward()  # the real graph is whole: timing ran on detached copies
    assert layer.adapter_G1.grad is not None and x.grad is not None
    layer(x)  # the same shape again: the layer's own plan, no timing
    assert len(calls) == 1
    saved = json.loads(timing.read_text())
    assert saved["version"] == contraction.CACHE_VERSION
    assert list(saved["plans"].values()) == ["kernel"]
    key = next(iter(saved["plans"]))
    assert "train" in key and "(2, 4, 8, 8)" in key and "TRConv2d" in key

    with torch.no_grad():  # inference is planned on its own: forward only
        layer(x)
    assert calls[-1] == (("factored", "composed", "kernel"), False)

    contraction.forget_cache()  # a new process on this machine: the disk cache answers, no timing
    fresh = meta_tr_conv()
    fresh(x)
    assert fresh.last_contraction == ("kernel", "cached") and len(calls) == 2


def test_timing_gives_the_same_output_whichever_path_wins(timing, monkeypatch):
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    outputs = {}
    for winner in ("factored", "composed", "kernel"):
        contraction.forget_cache()
        timing.unlink(missing_ok=True)
        fake_clock(monkeypatch, {p: (0.0 if p == winner else 1.0) for p in contraction.PATHS}, [])
        layer = meta_tr_conv().double()
        layer.input_scaling = layer.input_scaling.double()
        outputs[winner] = layer(x)
        assert layer.last_contraction == (winner, "timed")
        monkeypatch.undo()
        monkeypatch.setattr(contraction, "TIMING_SHORTLIST", 1e9)
        monkeypatch.setenv("METALORA_CONTRACTION_TIMING", "1")
        monkeypatch.setenv("METALORA_CACHE_DIR", str(timing.parent))
    torch.testing.assert_close(outputs["factored"], outputs["kernel"], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(outputs["factored"], outputs["composed"], rtol=1e-10, atol=1e-12)


def test_real_timing_measures_every_candidate(timing):
    layer = meta_tr_conv()
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    seconds = contraction.time_paths(layer, x, 2, ("factored", "composed", "kernel"), True)
    assert set(seconds) == {"factored", "composed", "kernel"}
    assert all(0 < s < 5 for s in seconds.values())
    assert layer.adapter_G1.grad is None and x.grad is None  # nothing leaked into the real gradients


def test_a_corrupt_cache_is_ignored_and_rewritten(timing, monkeypatch):
    timing.write_text("{ not json")
    fake_clock(monkeypatch, {"factored": 0.5, "composed": 1.0, "kernel": 2.0}, [])
    layer = meta_tr_conv()
    layer(torch.randn(2, 4, 8, 8))
    assert layer.last_contraction == ("factored", "timed")
    assert list(json.loads(timing.read_text())["plans"].values()) == ["factored"]


def test_paths_the_cost_model_rules_out_are_never_timed(timing, monkeypatch):
    """A depthwise Tensor-Ring conv: its factored update costs R² times its channels, far beyond the
    shortlist, so only the others are timed (timing it would take seconds on a real layer)."""
    monkeypatch.setattr(contraction, "TIMING_SHORTLIST", 3.0)
    calls: list = []
    fake_clock(monkeypatch, {"factored": 0.0, "composed": 1.0, "kernel": 2.0}, calls)
    torch.manual_seed(0)
    layer = DISPATCH[("tr", nn.Conv2d)](nn.Conv2d(16, 16, 3, padding=1, groups=16), rank=4, alpha=8.0,
                                        input_conditioned=True)  # fmt: skip
    layer.input_scaling = torch.rand(4, 4) + 0.5
    x = torch.randn(4, 16, 16, 16, requires_grad=True)
    costs = contraction.path_costs(layer, tuple(x.shape), 4, True)
    assert costs["factored"] > 3.0 * costs["kernel"]
    layer(x)
    assert all("factored" not in paths for paths, _ in calls)
    assert layer.last_contraction[0] != "factored"


def test_cost_model_when_timing_is_off_or_asked_for(timing, monkeypatch):
    calls: list = []
    fake_clock(monkeypatch, {"factored": 1.0, "composed": 1.0, "kernel": 1.0}, calls)
    layer = meta_tr_conv()
    layer.contraction = "cost"
    layer(torch.randn(2, 4, 8, 8))
    assert layer.last_contraction[1] == "cost" and not calls
    monkeypatch.setenv("METALORA_CONTRACTION_TIMING", "0")
    other = meta_tr_conv()
    other(torch.randn(2, 4, 8, 8))
    assert other.last_contraction[1] == "cost" and not calls and not timing.exists()


def test_the_config_forces_a_path_and_the_layer_table_shows_the_choice():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 8, 8)
    model = get_model(TinyResNet(), MetaLoRAConfig(method="meta-cp", rank=2, contraction="kernel"))
    randomise_adapters(model)
    assert all(r["contraction"] is None for r in model.layer_table())  # not run yet
    model.train()
    model(x).sum().backward()
    model.eval()
    with torch.no_grad():
        y = model(x)
    rows = {r["name"]: r for r in model.layer_table()}
    assert {rows[n]["contraction"] for n in model.adapted_layers()} == {"kernel"}
    assert {rows[n]["contraction_inference"] for n in model.adapted_layers()} == {"kernel"}
    factored = get_model(TinyResNet(), MetaLoRAConfig(method="meta-cp", rank=2, contraction="factored"))
    factored.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(factored.eval()(x), y, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="contraction='fastest' is not a contraction"):
        MetaLoRAConfig(contraction="fastest")


def test_the_chosen_contraction_is_saved_with_the_adapter(tmp_path):
    model = get_model(TinyResNet(), MetaLoRAConfig(method="meta-tr", rank=2, contraction="composed"))
    model.train()(torch.rand(2, 3, 8, 8)).sum().backward()
    model.save_adapter(tmp_path)
    saved = json.loads((tmp_path / "adapter_config.json").read_text())
    convs = [r for r in saved["layers"] if r["type"] == "Conv2d"]
    assert convs and {r["contraction"] for r in convs} == {"composed"}
    assert saved["config"]["contraction"] == "composed"


def test_depthwise_layers_get_an_update_that_respects_their_groups():
    """A depthwise MetaLoRA-TR conv: the per-input kernel path keeps the layer's 8 channels (the factored
    path runs 8·R² = 128 ring channels) and is picked by the cost model; it is exact."""
    torch.manual_seed(0)
    base = nn.Conv2d(8, 8, 3, padding=1, groups=8).double()
    layer = DISPATCH[("tr", nn.Conv2d)](base, rank=4, alpha=8.0, input_conditioned=True)
    randomise_adapters(layer)
    layer.input_scaling = 1 + 0.3 * torch.randn(3, 4, dtype=torch.float64)
    x = torch.randn(3, 8, 16, 16, dtype=torch.float64)
    assert contraction.cost_choice(layer, x, 3, train=True) == "kernel"
    layer.contraction = "factored"
    z = layer.rank_features(x)
    assert z.shape[1] == 8 * 4 * 4  # what the kernel path avoids
    reference = layer(x)
    layer.contraction = "kernel"
    torch.testing.assert_close(layer(x), reference, rtol=1e-10, atol=1e-12)
    assert layer.kernel_weight(layer.input_scaling).shape == (3, 8, 1, 3, 3)


@pytest.mark.parametrize("path", ["factored", "kernel"])
def test_the_adapted_model_compiles_and_gives_the_same_outputs_and_gradients(path):
    """torch.compile (dynamo and AOT autograd; inductor is measured by benchmarks/bench_compile.py and tested on
    a GPU by tests/test_cuda.py) through the hand-written fused projection and the kernel path alike."""
    torch.manual_seed(0)
    model = get_model(TinyResNet(), MetaLoRAConfig(method="meta-tr", rank=2, contraction=path)).train()
    randomise_adapters(model)
    x = torch.rand(4, 3, 8, 8)
    params = [p for p in model.parameters() if p.requires_grad]
    expected = model(x)
    grads = torch.autograd.grad(expected.square().sum(), params)
    compiled = torch.compile(model, backend="aot_eager")
    got = compiled(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    for g, e in zip(torch.autograd.grad(got.square().sum(), params), grads, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)


def test_the_backbone_feature_pass_compiles_without_a_graph_break():
    """MetaLoRA's feature pass taps the feature layer with a hook registered once (FeatureTap): compiled, it
    breaks no graph and gives the eager features; run eagerly it still stops at the feature layer."""
    torch.manual_seed(0)
    model = get_model(TinyResNet(), MetaLoRAConfig(method="meta-cp", rank=2)).train()
    randomise_adapters(model)
    x = torch.rand(4, 3, 8, 8)
    expected = model(x)
    explained = torch._dynamo.explain(model)(x)
    assert explained.graph_break_count == 0 and explained.graph_count == 1
    torch.testing.assert_close(torch.compile(model, backend="aot_eager")(x), expected, rtol=1e-5, atol=1e-6)
    head = model.base_model.get_submodule(model._feature_layer_name)
    ran = []
    handle = head.register_forward_hook(lambda *_: ran.append(1))
    try:
        features = model.features(x)
    finally:
        handle.remove()
    assert ran == [] and features.shape == (4, model.feature_dim), "eagerly, the head itself never runs"
