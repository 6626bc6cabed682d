"""Backbones and their registry: shapes, head placement, layer types, and errors."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from metalora.adapters.injection import adaptable_modules
from metalora.errors import ConfigError, ModelError
from metalora.models import (
    MlpMixer,
    Normalize,
    ResNet,
    VisionTransformer,
    build_model,
    get_architecture,
    list_architectures,
)

ARCHS = list_architectures()


def _kwargs(arch: str, channels: int, size: int, classes: int) -> dict:
    kw = dict(in_channels=channels, num_classes=classes)
    if "image_size" in get_architecture(arch).accepted_kwargs():
        kw["image_size"] = size
    return kw


def test_registry_lists_the_required_architectures():
    assert {"resnet-mini", "mixer-mini", "vit-mini"} <= set(ARCHS)
    assert sorted(ARCHS) == ARCHS


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [16, 32])
def test_every_architecture_gives_logits(arch, channels, size):
    torch.manual_seed(0)
    model = build_model(arch, **_kwargs(arch, channels, size, classes=7)).eval()
    x = torch.rand(5, channels, size, size)  # (B, C, H, W) in [0, 1]
    out = model(x)
    assert out.shape == (5, 7)
    assert torch.isfinite(out).all()
    # eval-mode outputs do not depend on the rest of the batch
    torch.testing.assert_close(model(x[:2]), out[:2], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_last_registered_linear_is_the_head_and_takes_pooled_features(arch):
    model = build_model(arch, **_kwargs(arch, 3, 32, classes=4)).eval()
    spec = get_architecture(arch)
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    name, last = linears[-1]
    assert name == spec.head == model.head_name
    assert last is getattr(model, spec.head)
    x = torch.rand(3, 3, 32, 32)
    feats = model.forward_features(x)
    assert feats.shape == (3, last.in_features) == (3, model.feature_dim)
    torch.testing.assert_close(last(feats), model(x))


@pytest.mark.parametrize("arch", ARCHS)
def test_normalize_is_first_and_holds_buffers_not_parameters(arch):
    model = build_model(arch, in_channels=3, mean=(0.1, 0.2, 0.3), std=0.25)
    first = next(iter(model.children()))
    assert isinstance(first, Normalize)
    assert not isinstance(first, (nn.Conv2d, nn.Linear))
    assert list(first.parameters()) == []
    sd = model.state_dict()
    assert torch.allclose(sd["normalize.mean"].flatten(), torch.tensor([0.1, 0.2, 0.3]))
    assert torch.allclose(sd["normalize.std"].flatten(), torch.full((3,), 0.25))
    x = torch.rand(2, 3, 4, 4)
    expected = (x - torch.tensor([0.1, 0.2, 0.3]).view(1, 3, 1, 1)) / 0.25
    torch.testing.assert_close(first(x), expected)


def test_resnet_uses_only_ordinary_layers_and_any_image_size():
    model = build_model("resnet-mini", in_channels=1, num_classes=10).eval()
    allowed = (
        nn.Conv2d,
        nn.BatchNorm2d,
        nn.Linear,
        nn.ReLU,
        nn.Sequential,
        nn.Identity,
        nn.AdaptiveAvgPool2d,
    )
    for name, m in model.named_modules():
        if not list(m.children()):  # leaves
            assert isinstance(m, (*allowed, Normalize)), f"{name} is a {type(m).__name__}"
    assert isinstance(model, ResNet)
    for size in (8, 28, 41):
        assert model(torch.rand(2, 1, size, size)).shape == (2, 10)


def test_resnet_widths_and_blocks_are_configurable():
    model = build_model("resnet-mini", widths=(8, 16, 24, 32), blocks_per_stage=(1, 2, 1, 1), num_classes=3)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert model.fc.in_features == 32
    assert max(c.out_channels for c in convs) == 32
    assert len(model.stages) == 4 and len(model.stages[1]) == 2
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 3)


def test_mixer_layers_apply_to_tokens_and_channels():
    model = build_model("mixer-mini", in_channels=1, image_size=16, patch_size=4, dim=24, token_hidden=8)
    assert isinstance(model, MlpMixer)
    assert model.num_tokens == 16
    pe = model.patch_embed
    assert isinstance(pe, nn.Conv2d) and pe.kernel_size == pe.stride == (4, 4)
    blk = model.blocks[0]
    assert blk.token_mlp.fc1.in_features == 16 and blk.token_mlp.fc1.out_features == 8
    assert blk.channel_mlp.fc1.in_features == 24


def test_vit_uses_only_ordinary_layers_and_its_attention_is_adaptable():
    model = build_model("vit-mini", in_channels=1, image_size=16, patch_size=4, dim=32, heads=4, depth=2)
    assert isinstance(model, VisionTransformer)
    assert model.num_tokens == 16 and model.pos_embed.shape == (1, 16, 32)
    allowed = (nn.Conv2d, nn.Linear, nn.LayerNorm, nn.GELU, Normalize)
    for name, m in model.named_modules():
        if not list(m.children()):  # leaves
            assert isinstance(m, allowed), f"{name} is a {type(m).__name__}"
    attn = model.blocks[0].attn
    assert attn.qkv.in_features == 32 and attn.qkv.out_features == 96 and attn.proj.out_features == 32
    adaptable = adaptable_modules(model)
    for layer in ("patch_embed", "blocks.0.attn.qkv", "blocks.1.attn.proj", "blocks.1.mlp.fc2", "head"):
        assert layer in adaptable
    assert len(adaptable) == 2 + 4 * 2


@pytest.mark.parametrize("arch", ARCHS)
def test_gradients_reach_every_parameter(arch):
    model = build_model(arch, **_kwargs(arch, 1, 16, classes=3)).train()
    out = model(torch.rand(4, 1, 16, 16))
    nn.functional.cross_entropy(out, torch.tensor([0, 1, 2, 0])).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_unknown_architecture_lists_the_known_ones():
    with pytest.raises(ConfigError) as info:
        build_model("vgg-huge")
    msg = str(info.value)
    assert "vgg-huge" in msg
    for name in ARCHS:
        assert name in msg


def test_unknown_kwarg_lists_the_accepted_ones():
    with pytest.raises(ConfigError, match=r"patch_size.*Accepted arguments:.*widths"):
        build_model("resnet-mini", patch_size=4)


@pytest.mark.parametrize(
    ("arch", "kwargs", "field"),
    [
        ("resnet-mini", dict(widths=()), "widths"),
        ("resnet-mini", dict(num_classes=1), "num_classes"),
        ("resnet-mini", dict(blocks_per_stage=(1, 1)), "blocks_per_stage"),
        ("resnet-mini", dict(in_channels=3, mean=(0.1, 0.2)), "mean"),
        ("mixer-mini", dict(image_size=30, patch_size=4), "patch_size"),
        ("mixer-mini", dict(depth=0), "depth"),
        ("mixer-mini", dict(std=0.0), "std"),
        ("vit-mini", dict(dim=64, heads=5), "heads"),
        ("vit-mini", dict(image_size=30, patch_size=4), "patch_size"),
        ("vit-mini", dict(mlp_hidden=0), "mlp_hidden"),
        ("vit-mini", dict(in_channels=3, mean=(0.1, 0.2)), "mean"),
    ],
)
def test_bad_settings_raise_config_error_naming_the_field(arch, kwargs, field):
    with pytest.raises(ConfigError, match=field):
        build_model(arch, **kwargs)


@pytest.mark.parametrize("arch", ARCHS)
def test_wrong_input_channels_raise_model_error(arch):
    model = build_model(arch, in_channels=3)
    with pytest.raises(ModelError, match=r"\(B, 3, H, W\).*in_channels=1"):
        model(torch.rand(2, 1, 32, 32))


@pytest.mark.parametrize("arch", ["mixer-mini", "vit-mini"])
def test_token_models_reject_other_image_sizes_with_a_hint(arch):
    model = build_model(arch, in_channels=1, image_size=32)
    with pytest.raises(ModelError, match="Resize the images to 32x32"):
        model(torch.rand(2, 1, 28, 28))


@pytest.mark.parametrize("arch", ARCHS)
def test_arch_kwargs_survive_json_and_rebuild_the_same_shapes(arch):
    model = build_model(arch, in_channels=1, num_classes=5)
    kwargs = json.loads(json.dumps(model.arch_kwargs))
    assert kwargs == model.arch_kwargs
    again = build_model(model.arch, **kwargs)
    assert {k: v.shape for k, v in again.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()
    }


@pytest.mark.parametrize("arch", ARCHS)
def test_sample_sized_models_stay_small(arch):
    model = build_model(arch, in_channels=3)
    n = sum(p.numel() for p in model.parameters())
    assert 10_000 < n < 250_000  # < 1 MB of float32 weights
