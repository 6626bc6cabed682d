"""The Vision Transformer backbone: shapes, attention, input errors, adapters on every layer, and every
analysis view on the shipped ``vit-mini-digits`` sample."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from metalora import MetaLoRAConfig, get_model
from metalora.analysis import RunAnalysis
from metalora.data import DataSpec
from metalora.errors import ConfigError, ModelError
from metalora.methods import method_ids
from metalora.models import VisionTransformer, build_model, list_sample_models, load_sample_model
from metalora.training.methods import prepare
from tests.helpers import randomise_adapters


def vit(**kw) -> VisionTransformer:
    torch.manual_seed(0)
    kw = {"in_channels": 1, "image_size": 16, "dim": 32, "depth": 2, "heads": 4, "mlp_hidden": 48, **kw}
    return build_model("vit-mini", **kw).eval()


def expected_layers(depth: int) -> set[str]:
    per_block = ["attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"]
    return {"patch_embed", "head"} | {f"blocks.{i}.{n}" for i in range(depth) for n in per_block}


@pytest.mark.parametrize(("channels", "size", "patch"), [(1, 16, 4), (3, 32, 4), (3, 32, 8)])
def test_forward_gives_logits_and_pooled_features(channels, size, patch):
    model = vit(in_channels=channels, image_size=size, patch_size=patch, num_classes=7)
    assert isinstance(model, VisionTransformer)
    assert model.num_tokens == (size // patch) ** 2 and model.pos_embed.shape == (1, model.num_tokens, 32)
    x = torch.rand(3, channels, size, size)  # (B, C, H, W) in [0, 1]
    feats = model.forward_features(x)
    assert feats.shape == (3, model.feature_dim) == (3, 32)
    out = model(x)
    assert out.shape == (3, 7) and torch.isfinite(out).all()
    torch.testing.assert_close(model.head(feats), out)


def test_attention_is_plain_linear_layers_and_matches_multihead_attention():
    model = vit(in_channels=3)
    assert not any(isinstance(m, nn.MultiheadAttention) for m in model.modules())
    attn = model.blocks[0].attn
    assert isinstance(attn.qkv, nn.Linear) and attn.qkv.out_features == 3 * 32
    reference = nn.MultiheadAttention(32, 4, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(attn.qkv.weight)
        reference.in_proj_bias.copy_(attn.qkv.bias)
        reference.out_proj.weight.copy_(attn.proj.weight)
        reference.out_proj.bias.copy_(attn.proj.bias)
    x = torch.randn(2, 9, 32)  # (B, T, C)
    expected, _ = reference.eval()(x, x, x, need_weights=False)
    torch.testing.assert_close(attn(x), expected, rtol=1e-5, atol=1e-6)


def test_the_position_embedding_makes_the_model_see_where_a_patch_is():
    model = vit()
    x = torch.zeros(1, 1, 16, 16)
    left, right = x.clone(), x.clone()
    left[..., :4, :4], right[..., -4:, -4:] = 1.0, 1.0  # the same patch in two places
    with torch.no_grad():
        model.pos_embed.zero_()
        torch.testing.assert_close(model(left), model(right))  # without it, tokens are a bag
        model.pos_embed.normal_(std=0.5)
        assert not torch.allclose(model(left), model(right))


def test_wrong_inputs_raise_model_errors_with_a_hint():
    model = vit(in_channels=3)
    with pytest.raises(ModelError, match=r"\(B, 3, H, W\).*in_channels=1"):
        model(torch.rand(2, 1, 16, 16))
    with pytest.raises(ModelError, match=r"VisionTransformer.*\(B, 3, H, W\)"):
        model(torch.rand(3, 16, 16))
    with pytest.raises(ModelError, match="Resize the images to 16x16"):
        model(torch.rand(2, 3, 32, 32))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(dim=30, heads=4), "heads"),
        (dict(image_size=30, patch_size=4), "patch_size"),
        (dict(depth=0), "depth"),
        (dict(heads=0), "heads"),
        (dict(mlp_hidden=0), "mlp_hidden"),
        (dict(num_classes=1), "num_classes"),
        (dict(in_channels=3, std=(0.5, 0.0, 0.5)), "std"),
    ],
)
def test_bad_settings_raise_config_error_naming_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        build_model("vit-mini", **kwargs)


@pytest.mark.parametrize("method", method_ids(adapter=True))
def test_every_adapter_method_adapts_every_layer_and_starts_at_the_base_output(method):
    base = vit()
    x = torch.rand(4, 1, 16, 16)
    expected = base(x)
    model, params = prepare(vit(), method, rank=2, num_classes=10)
    assert set(model.adapted_layers()) == expected_layers(depth=2) and params
    assert torch.allclose(model.eval()(x), expected, atol=1e-5), method


@pytest.mark.parametrize("layer", ["blocks.0.attn.qkv", "blocks.1.attn.proj", "patch_embed"])
def test_the_factored_forward_is_the_per_input_dense_update(layer):
    model = get_model(vit().double(), MetaLoRAConfig(method="meta-tr", rank=2))
    randomise_adapters(model, scale=0.2)
    x = torch.rand(3, 1, 16, 16, dtype=torch.float64)
    adapter = model.adapted_layers()[layer]
    calls: list = []
    handle = adapter.register_forward_hook(lambda m, i, o: calls.append((i[0].clone(), o.clone())))
    model.eval()(x)
    handle.remove()
    inputs, out = calls[-1]  # the adapted pass (the feature pass, adapters off, runs first)
    dw = model.delta_weight(layer, x)  # (B, *W0.shape)
    base = adapter.base_layer
    assert dw.shape == (3, *base.weight.shape) and dw.abs().max() > 1e-3
    for b in range(3):
        w = base.weight + dw[b]
        if isinstance(base, nn.Conv2d):
            ref = nn.functional.conv2d(inputs[b : b + 1], w, base.bias, stride=base.stride)[0]
        else:
            ref = nn.functional.linear(inputs[b], w, base.bias)  # (T, out) for the tokens of input b
        assert torch.allclose(out[b], ref, rtol=1e-9, atol=1e-12), float((out[b] - ref).abs().max())


@pytest.mark.skipif("vit-mini-digits" not in list_sample_models(), reason="the ViT sample is not built")
def test_every_analysis_view_works_on_the_shipped_vit_sample():
    base, card = load_sample_model("vit-mini-digits")
    assert card["architecture"] == "vit-mini" and isinstance(base, VisionTransformer)
    splits = DataSpec(samples_per_class=10).load()
    torch.manual_seed(0)
    model = get_model(base, MetaLoRAConfig(method="meta-tr", rank=2, scaling_init_std=0.1)).eval()
    randomise_adapters(model, scale=0.2)  # as if trained: an untrained update is zero, with no ranks to sweep
    assert set(model.adapted_layers()) == expected_layers(depth=card["kwargs"]["depth"])
    view = RunAnalysis(model, splits.test, max_inputs=60, rank_inputs=8)
    assert view.method == "meta-tr" and view.has_scaling
    table = view.scaling_table()
    n = min(60, len(splits.test))
    assert len(table.factors) == len(view.layers)
    assert all(f.shape == (n, 2) for f in table.factors.values())
    qkv = table.factors["blocks.0.attn.qkv"]
    assert qkv.std(axis=0).max() > 0  # the factors depend on the input
    stats = view.scaling_stats("domain")
    assert set(stats) == set(view.layers)
    sweeps = view.rank_sweeps(["blocks.0.attn.qkv"])
    assert list(sweeps) == ["blocks.0.attn.qkv"]
    sweep = sweeps["blocks.0.attn.qkv"]
    assert sweep.ranks and sweep.errors and all(np.isfinite(e).any() for e in sweep.errors.values())
    spectra = view.spectra(["blocks.0.attn.qkv"])["blocks.0.attn.qkv"]
    assert spectra and all(len(s.values) and np.isfinite(s.values).all() for s in spectra)
    clusters = view.clusters()
    assert len(clusters.labels) == n
    assert view.latency_s() > 0
