"""get_model on whole models: end-to-end parity, zero init, freezing, targets, introspection, merge."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from metalora import MetaLoRAConfig, get_model
from metalora.adapters import MetaLoRAModel
from metalora.adapters.features import FeatureTap, default_feature_layer
from metalora.adapters.injection import replace_module
from metalora.errors import ConfigError, ModelError
from metalora.methods import method_ids
from tests.helpers import METHODS, TinyMixer, TinyResNet, TwoHeads, randomise_adapters

MODELS = {"resnet": TinyResNet, "mixer": TinyMixer, "two-heads": TwoHeads}


def make(model_name: str, method: str, **kw) -> tuple[nn.Module, MetaLoRAModel]:
    torch.manual_seed(0)
    base = MODELS[model_name]()
    reference = copy.deepcopy(base).eval()
    model = get_model(base, MetaLoRAConfig(method=method, rank=3, **kw)).eval()
    return reference, model


def outputs_close(a, b, tol=1e-5) -> bool:
    if isinstance(a, dict):
        return all(outputs_close(a[k], b[k], tol) for k in a)
    return torch.allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model_name", list(MODELS))
def test_zero_init_equals_base(model_name, method):
    """ΔW = 0 at the start: bit for bit on the factored path (it adds exactly zero); with the planner's choice
    (the kernel path runs W0 + 0 over the batch in one conv) up to the order of the sums."""
    x = torch.rand(4, 3, 8, 8)
    reference, model = make(model_name, method, contraction="factored")
    assert outputs_close(model(x), reference(x), tol=0)
    reference, model = make(model_name, method)
    assert outputs_close(model(x), reference(x), tol=1e-6)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model_name", ["resnet", "mixer"])
def test_forward_equals_per_input_dense_weights(model_name, method):
    """Oracle: for each input, a copy of the base with W0 + ΔW(x_i) in every adapted layer."""
    reference, model = make(model_name, method)
    randomise_adapters(model)
    x = torch.rand(3, 3, 8, 8)
    y = model(x)
    deltas = {
        n: model.delta_weight(n, x) if model.config.meta else model.delta_weight(n)
        for n in model.adapted_layers()
    }
    for i in range(3):
        per_input = copy.deepcopy(reference)
        with torch.no_grad():
            for name, d in deltas.items():
                per_input.get_submodule(name).weight += d[i] if model.config.meta else d
        assert torch.allclose(y[i : i + 1], per_input(x[i : i + 1]), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(y, reference(x), atol=1e-3)


def test_meta_seeds_differ_between_inputs_static_do_not():
    _, meta = make("resnet", "meta-tr")
    _, static = make("resnet", "tr")
    randomise_adapters(meta)
    randomise_adapters(static)
    x = torch.rand(5, 3, 8, 8)
    for name, s in meta.scaling_factors(x).items():
        assert s.shape == (5, 3)
        assert s.std(dim=0).max() > 1e-3, name
    for s in static.scaling_factors(x).values():
        assert torch.equal(s, s[:1].expand_as(s))


@pytest.mark.parametrize("method", METHODS)
def test_only_adapter_parameters_train(method):
    _, model = make("resnet", method)
    model.train()
    frozen = {n: p.clone() for n, p in model.named_parameters() if not p.requires_grad}
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    trainable = dict(model.trainable_parameters())
    assert trainable and all("adapter_" in n or n.startswith("mapping_network.") for n in trainable)
    start = {n: p.detach().clone() for n, p in trainable.items()}
    opt = torch.optim.SGD(list(trainable.values()), lr=0.5)
    x = torch.rand(6, 3, 8, 8)
    for _ in range(3):  # a few steps: zero-initialised factors need one step before the rest get gradients
        opt.zero_grad()
        model(x).logsumexp(-1).sum().backward()
        for n, p in model.named_parameters():
            if not p.requires_grad:
                assert p.grad is None, n
        opt.step()
    for n, p in model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), f"frozen {n} changed"
    for n, b in model.named_buffers():
        assert torch.equal(b, buffers[n]), f"buffer {n} changed (BatchNorm statistics must stay frozen)"
    changed = [n for n, p in trainable.items() if not torch.equal(p, start[n])]
    assert len(changed) == len(trainable), set(trainable) - set(changed)


def test_meta_mapping_network_receives_gradients():
    _, model = make("resnet", "meta-cp")
    randomise_adapters(model)
    model.train()
    model(torch.rand(4, 3, 8, 8)).sum().backward()
    grads = [p.grad for n, p in model.named_parameters() if n.startswith("mapping_network.")]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_targets_keywords_lists_regex_and_exclude():
    torch.manual_seed(0)
    conv = get_model(TinyResNet(), target_modules="all-conv", method="lora")
    assert set(conv.adapted_layers()) == {"stem", "block.0", "block.2"}
    lin = get_model(TinyMixer(), target_modules="all-linear", method="cp")
    assert "embed" not in lin.adapted_layers() and "head" in lin.adapted_layers()
    names = get_model(TinyResNet(), target_modules=["stem", "fc"], method="tr")
    assert set(names.adapted_layers()) == {"stem", "fc"}
    regex = get_model(TinyResNet(), target_modules=r"block\.\d", method="meta-tr")
    assert set(regex.adapted_layers()) == {"block.0", "block.2"}
    excl = get_model(TinyResNet(), target_modules="all", exclude_modules=["fc"], method="meta-cp")
    assert "fc" not in excl.adapted_layers() and "stem" in excl.adapted_layers()


def test_rank_mapping_per_module():
    model = get_model(
        TinyResNet(), MetaLoRAConfig(method="meta-tr", rank={"fc": 2, r"block\..*": 5, "default": 4})
    )
    ranks = {n: a.rank for n, a in model.adapted_layers().items()}
    assert ranks == {"stem": 4, "block.0": 5, "block.2": 5, "fc": 2}
    assert model.scaling_factors(torch.rand(2, 3, 8, 8))["block.0"].shape == (2, 5)


def test_unknown_target_lists_adaptable_modules():
    with pytest.raises(ModelError, match="no module is named 'conv9'") as err:
        get_model(TinyResNet(), target_modules=["conv9"])
    assert "stem" in str(err.value) and "block.2" in str(err.value)
    with pytest.raises(ModelError, match="BatchNorm2d"):
        get_model(TinyResNet(), target_modules=["block.1"])
    with pytest.raises(ModelError, match="matches no adaptable layer"):
        get_model(TinyResNet(), target_modules=r"nothing_\d+")


def test_model_without_adaptable_layer():
    with pytest.raises(ModelError, match="nothing to adapt"):
        get_model(nn.Sequential(nn.ReLU(), nn.Flatten()))


@pytest.mark.parametrize(
    ("field", "value", "phrase"),
    [
        ("method", "dora", "Allowed values: lora, cp, tr, meta-cp, meta-tr"),
        ("rank", 0, "positive integer"),
        ("rank", {"fc": -1}, "positive integer"),
        ("alpha", -1, "alpha"),
        ("target_modules", "([", "not a valid regular expression"),
        ("target_modules", [], "target_modules"),
        ("feature_source", "pixels", "feature_source"),
        ("dropout", 1.5, "dropout"),
        ("mapping_hidden", 0, "mapping_hidden"),
    ],
)
def test_invalid_config_names_the_field(field, value, phrase):
    with pytest.raises(ValueError, match=field) as err:
        MetaLoRAConfig(**{field: value})
    assert isinstance(err.value, ConfigError)
    assert phrase in str(err.value)


def test_custom_feature_source_module():
    torch.manual_seed(0)
    extractor = nn.Sequential(nn.Conv2d(3, 5, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = get_model(TinyResNet(), MetaLoRAConfig(method="meta-cp", feature_source=extractor, feature_dim=5))
    randomise_adapters(model)
    x = torch.rand(3, 3, 8, 8)
    assert model.features(x).shape == (3, 5)
    assert model(x).shape == (3, 5)
    assert not any(p.requires_grad for p in extractor.parameters())


def test_backbone_without_linear_needs_a_feature_layer():
    fully_conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 1))
    with pytest.raises(ConfigError, match="feature_layer"):
        get_model(copy.deepcopy(fully_conv), method="meta-tr")
    model = get_model(fully_conv, method="meta-tr", feature_layer="2")  # pooled input of the last conv
    assert model(torch.rand(2, 3, 6, 6)).shape == (2, 2, 4, 4)


class _SkipsALayer(nn.Module):
    """A model whose forward never calls one of its layers."""

    def __init__(self):
        super().__init__()
        self.conv, self.unused, self.fc = nn.Conv2d(3, 4, 3), nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def test_a_feature_layer_the_forward_never_calls_is_a_clear_error():
    model = get_model(
        _SkipsALayer(), method="meta-cp", rank=2, feature_layer="unused", target_modules=["conv"]
    )
    with pytest.raises(ModelError, match="never called"):
        model(torch.rand(2, 3, 6, 6))


def test_delta_weight_shapes_and_errors():
    _, meta = make("resnet", "meta-tr")
    x = torch.rand(4, 3, 8, 8)
    assert meta.delta_weight("block.2", x).shape == (4, 6, 6, 3, 3)
    with pytest.raises(ConfigError, match="depends on the input"):
        meta.delta_weight("block.2")
    with pytest.raises(ConfigError, match="not an adapted layer"):
        meta.delta_weight("block.1", x)
    _, static = make("resnet", "cp")
    assert static.delta_weight("fc").shape == (5, 6)
    _, lora = make("resnet", "lora")
    with pytest.raises(ConfigError, match="LoRA has no scaling factors"):
        lora.scaling_factors(x)


def test_layer_table_and_parameter_counts(capsys):
    _, model = make("resnet", "meta-tr")
    table = model.layer_table()
    assert [r["name"] for r in table] == ["stem", "block.0", "block.2", "fc"]
    assert table[0]["shape"] == (6, 3, 3, 3) and table[0]["rank"] == 3
    trainable, total = model.count_parameters()
    generator = sum(p.numel() for p in model.mapping_network.parameters())
    assert trainable == sum(r["trainable"] for r in table) + generator
    assert total == trainable + sum(p.numel() for p in TinyResNet().parameters())
    model.print_trainable_parameters()
    assert f"trainable params: {trainable:,}" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["lora", "cp", "tr"])
def test_merge_static_is_exact(method):
    _, model = make("resnet", method)
    randomise_adapters(model)
    x = torch.rand(4, 3, 8, 8)
    merged = model.merge_and_unload().eval()
    assert not any(isinstance(m, type(model.adapted_layers()["stem"])) for m in merged.modules())
    assert torch.allclose(merged(x), model(x), rtol=1e-5, atol=1e-6)
    assert model.adapted_layers()["stem"].base_layer is not merged.stem  # the adapted model is left intact


def test_merge_meta_uses_mean_seed():
    _, model = make("resnet", "meta-tr")
    randomise_adapters(model)
    x = torch.rand(6, 3, 8, 8)
    with pytest.raises(ConfigError, match="needs inputs"):
        model.merge_and_unload()
    merged = model.merge_and_unload(data=[(x[:3], None), (x[3:], None)])
    mean = {n: s.mean(0) for n, s in model.scaling_factors(x).items()}
    for name, layer in model.adapted_layers().items():  # W0 + ΔW(mean seed), rebuilt by hand
        w = layer.base_layer.weight + layer.delta_weight(mean[name][None])[0]
        assert torch.allclose(merged.get_submodule(name).weight, w, atol=1e-6)
        assert not torch.allclose(w, layer.base_layer.weight)


@pytest.mark.parametrize("method", METHODS)
def test_unload_restores_base_bit_for_bit(method):
    torch.manual_seed(0)
    base = TinyResNet()
    before = {n: t.clone() for n, t in base.state_dict().items()}
    flags = {n: p.requires_grad for n, p in base.named_parameters()}
    model = get_model(base, method=method)
    randomise_adapters(model)
    model.train()
    model(torch.rand(2, 3, 8, 8)).sum().backward()
    restored = model.unload()
    assert restored is base
    after = restored.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(after[n], before[n]) for n in before)
    assert {n: p.requires_grad for n, p in restored.named_parameters()} == flags
    assert not any(m._forward_pre_hooks for m in restored.modules()), "no hook of the feature pass is left"


def test_unload_takes_the_feature_pass_hook_off_an_unwrapped_feature_layer():
    """The feature layer keeps the feature pass's hook (FeatureTap); when it is not adapted, it stays the
    user's own module, and unloading must leave it without that hook."""
    base = TinyResNet()
    head = base.get_submodule(default_feature_layer(base))
    model = get_model(base, method="meta-cp", target_modules="all-conv")
    assert FeatureTap.of(head) is not None and head._forward_pre_hooks
    model(torch.rand(2, 3, 8, 8))
    model.unload()
    assert FeatureTap.of(head) is None and not head._forward_pre_hooks


def test_refuses_double_wrapping():
    model = get_model(TinyResNet(), method="lora")
    with pytest.raises(ModelError, match="already carries adapters"):
        get_model(model.base_model, method="lora")


def test_bf16_autocast_runs_and_stays_close():
    _, model = make("resnet", "meta-tr")
    randomise_adapters(model, scale=0.1)
    x = torch.rand(2, 3, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = model(x)
    assert torch.isfinite(y).all()
    assert torch.allclose(y.float(), model(x), atol=0.1, rtol=0.05)


def test_layer_called_outside_model_says_what_to_do():
    _, model = make("resnet", "meta-cp")
    with pytest.raises(ModelError, match="Call the MetaLoRAModel"):
        model.base_model(torch.rand(1, 3, 8, 8))


def test_replace_module_in_module_list():
    seq = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    replace_module(seq, "1", nn.Identity())
    assert isinstance(seq[1], nn.Identity)


@pytest.mark.parametrize("method", ["meta-cp", "meta-tr", "lora"])
def test_whole_model_in_bfloat16(method):
    torch.manual_seed(0)
    model = get_model(TinyResNet().to(torch.bfloat16), method=method)
    randomise_adapters(model, scale=0.1)
    assert all(p.dtype == torch.bfloat16 for _, p in model.trainable_parameters())
    y = model(torch.rand(2, 3, 8, 8, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16 and torch.isfinite(y).all()


class _ReadsItsWeight(nn.Module):
    """As PEFT's ``ModelConv2DGroups2`` test model: the forward reads a wrapped layer's attributes."""

    def __init__(self):
        super().__init__()
        self.conv2d = nn.Conv2d(4, 8, 3, padding=1, groups=2)
        self.lin = nn.Linear(8, 3)

    def forward(self, x):
        x = x.to(self.conv2d.weight.device, self.conv2d.weight.dtype)
        assert self.conv2d.in_channels == 4 and self.lin.in_features == 8
        return self.lin(self.conv2d(x).mean((2, 3)))


@pytest.mark.parametrize("method", method_ids(adapter=True))
def test_wrapped_layers_pass_their_base_attributes_through(method):
    model = get_model(_ReadsItsWeight(), MetaLoRAConfig(method=method, rank=2, feature_layer="lin"))
    conv = model.base_model.conv2d
    assert conv.weight is conv.base_layer.weight and conv.bias is conv.base_layer.bias
    assert (conv.out_channels, conv.groups, conv.kernel_size) == (8, 2, (3, 3))
    assert model(torch.rand(2, 4, 6, 6)).shape == (2, 3)
    with pytest.raises(AttributeError):
        conv.no_such_attribute  # noqa: B018
    with pytest.raises(AttributeError):
        conv.adapter_missing  # noqa: B018  (an adapter name is never looked up on the base)


def test_a_rank_pattern_that_matches_nothing_is_refused():
    with pytest.raises(ConfigError, match="'layer4' matches none of the adapted layers") as err:
        get_model(TinyResNet(), MetaLoRAConfig(method="lora", rank={"layer4": 16, "default": 2}))
    assert "stem" in str(err.value)  # the message lists what it could match


class _WithAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.mlp = nn.Linear(8, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):  # (B, T, 8)
        return self.head(self.mlp(self.attn(x, x, x)[0]).mean(1))


def test_attention_projections_are_refused_with_the_true_reason_and_never_skipped_silently():
    with pytest.raises(ModelError, match=r"inside nn.MultiheadAttention.*bypassed"):
        get_model(_WithAttention(), MetaLoRAConfig(method="lora", target_modules=["out_proj"]))
    with pytest.warns(UserWarning, match=r"1 nn.MultiheadAttention module.*attn.*not adapted"):
        model = get_model(_WithAttention(), MetaLoRAConfig(method="lora", target_modules="all-linear"))
    assert set(model.adapted_layers()) == {"mlp", "head"}


class _Noisy(nn.Module):
    """A backbone whose features change in train mode: dropout and a batch norm before the head."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(self.drop(self.bn(self.conv(x)).mean((2, 3))))


@pytest.mark.parametrize("freeze_norm_stats", [True, False])
def test_the_feature_pass_is_frozen_in_train_mode(freeze_norm_stats):
    model = get_model(_Noisy(), MetaLoRAConfig(method="meta-cp", rank=2, freeze_norm_stats=freeze_norm_stats))
    x = torch.rand(4, 3, 6, 6)
    model.eval()
    expected = model.features(x)
    model.train()
    bn = model.base_model.bn
    tracked = int(bn.num_batches_tracked)
    first, second = model.features(x), model.features(x)
    assert torch.equal(first, expected) and torch.equal(second, expected)  # no dropout, eval statistics
    assert int(bn.num_batches_tracked) == tracked  # the feature pass never moves running statistics
    assert model.base_model.drop.training  # and the model's own mode is restored afterwards
    model(x)  # one training forward: the adapted pass alone may update statistics (when not frozen)
    assert int(bn.num_batches_tracked) == tracked + (0 if freeze_norm_stats else 1)
