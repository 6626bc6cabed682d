"""Real backbones from torchvision and timm (random initialisation, small inputs): every method adapts
them, starts at the base's output, computes exactly the per-input dense update, saves and restores a
retrained head, reads the same features in train and eval mode, and merges exactly when static.

CI installs torchvision and timm (the zoo extra) and fails here when they are missing; elsewhere these
tests are skipped with a message saying what to install.
"""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from metalora import MetaLoRAConfig, get_model, load_adapter
from metalora.errors import ConfigError
from metalora.methods import get_method, method_ids
from metalora.models.zoo import TESTED, build_zoo_model, zoo_available
from metalora.training.methods import prepare
from tests.data_files import PicklePayload
from tests.helpers import reference_conv

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCHITECTURES = list(TESTED)
SIZE = 32  # images are resized to this side (ViTs and MLP models are built for it)


def _skip_without(family: str):
    if not zoo_available(family):
        if os.environ.get("CI"):
            pytest.fail(f"{family} is missing in CI: .ci/run must install the zoo extra (make test does).")
        pytest.skip(f"{family} is not installed: `make test` installs it (pip install -e .[zoo]).")


def zoo(name: str, num_classes: int = 5, **kw):
    _skip_without(name.partition(":")[0])
    torch.manual_seed(0)
    return build_zoo_model(name, num_classes=num_classes, in_channels=3, image_size=SIZE, **kw).eval()


def _images(n: int = 2) -> torch.Tensor:
    return torch.rand(n, 3, 24, 24, generator=torch.Generator().manual_seed(1))  # resized inside


def _randomise(model: nn.Module) -> None:
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.rsplit(".", 1)[-1].startswith("adapter_") or n.startswith("mapping_network."):
                p.copy_(
                    (1.0 if n.endswith("adapter_core") else 0.0) + 0.2 * torch.randn(p.shape, generator=g)
                )


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_every_method_adapts_the_backbone_and_starts_at_its_output(name):
    base = zoo(name)
    x = _images()
    expected = base(x)
    for method in method_ids(adapter=True):
        model, params = prepare(zoo(name), method, rank=2, num_classes=5)
        assert model.adapted_layers() and params
        assert model.base_model.new_head in model.modules_to_save()  # the new head is trained in full
        assert torch.allclose(model.eval()(x), expected, atol=1e-5), method


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_factored_forward_is_the_per_input_dense_update(name):
    model = get_model(zoo(name).double(), MetaLoRAConfig(method="meta-tr", rank=2, target_modules="all"))
    _randomise(model)
    x = _images().double()
    layers = model.adapted_layers()
    picked = [n for n, a in layers.items() if isinstance(a.base_layer, nn.Conv2d)][:2]
    picked += [n for n, a in layers.items() if isinstance(a.base_layer, nn.Linear)][:1]
    depthwise = [
        n for n, a in layers.items() if isinstance(a.base_layer, nn.Conv2d) and a.base_layer.groups > 1
    ]
    picked += depthwise[:1]
    for name_ in picked:
        adapter = layers[name_]
        calls: list = []
        handle = adapter.register_forward_hook(
            lambda m, i, o, calls=calls: calls.append((i[0].clone(), o.clone()))
        )
        model.eval()(x)
        handle.remove()
        inputs, out = calls[-1]  # the adapted pass (the feature pass, adapters off, runs first)
        dw = model.delta_weight(name_, x)  # (B, *W0.shape)
        base = adapter.base_layer
        for b in range(x.shape[0]):
            w = base.weight + dw[b]
            ref = (
                reference_conv(base, inputs[b : b + 1], w)[0]
                if isinstance(base, nn.Conv2d)
                else nn.functional.linear(inputs[b], w, base.bias)
            )
            assert torch.allclose(out[b], ref, rtol=1e-9, atol=1e-12), (
                name_,
                float((out[b] - ref).abs().max()),
            )


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_a_retrained_head_survives_save_and_load(name, tmp_path):
    model, _ = prepare(zoo(name), "meta-cp", rank=2, num_classes=5)
    head = model.base_model.get_submodule(model.base_model.new_head)
    with torch.no_grad():
        for p in head.parameters():
            p.add_(0.5)  # as if trained
    _randomise(model)
    model.save_adapter(tmp_path)
    loaded = load_adapter(zoo(name), tmp_path).eval()
    x = _images()
    assert torch.equal(loaded(x), model.eval()(x))


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_features_are_the_same_in_train_and_eval_mode(name):
    model = get_model(zoo(name), MetaLoRAConfig(method="meta-tr", rank=2))
    x = _images(3)
    model.eval()
    expected = model.features(x)
    model.train()
    assert torch.equal(model.features(x), expected) and torch.equal(model.features(x), expected)


@pytest.mark.parametrize("name", ARCHITECTURES)
@pytest.mark.parametrize(
    "method", [m for m in method_ids(adapter=True) if not get_method(m).input_conditioned]
)
def test_static_methods_merge_exactly(name, method):
    model = get_model(zoo(name).double(), MetaLoRAConfig(method=method, rank=2))
    _randomise(model)
    x = _images().double()
    merged = model.merge_and_unload()
    assert torch.allclose(merged.eval()(x), model.eval()(x), atol=1e-9)


def test_user_weights_load_from_safetensors_and_weights_only_pt_and_a_pickle_is_refused(tmp_path):
    from safetensors.torch import save_file

    _skip_without("torchvision")
    torch.manual_seed(3)
    own = build_zoo_model("torchvision:resnet18", num_classes=1000, image_size=SIZE).net  # 1000 = its head
    state = {k: v.contiguous() for k, v in own.state_dict().items()}
    save_file(state, tmp_path / "weights.safetensors")
    torch.save(state, tmp_path / "weights.pt")
    for path in (tmp_path / "weights.safetensors", tmp_path / "weights.pt"):
        model = zoo("torchvision:resnet18", weights=path)
        assert torch.equal(model.net.layer1[0].conv1.weight, own.layer1[0].conv1.weight)
        assert model.net.fc.out_features == 5  # a new head for the data's classes
    marker = tmp_path / "pwned"
    import pickle

    (tmp_path / "hostile.pt").write_bytes(pickle.dumps({"conv1.weight": PicklePayload(marker)}))
    with pytest.raises(Exception, match=r"(?i)pickle|weights-only|not a valid"):
        zoo("torchvision:resnet18", weights=tmp_path / "hostile.pt")
    assert not marker.exists()


def test_a_zoo_name_resolves_for_training_and_a_bad_one_is_explained():
    from metalora.data import DataSpec
    from metalora.models import check_compatible, resolve_model

    _skip_without("torchvision")
    splits = DataSpec(samples_per_class=3, image_size=16, domains=("clean",)).load()
    base, name = resolve_model("torchvision:resnet18", splits, image_size=SIZE)
    assert name == "torchvision:resnet18" and base.built_for == {"in_channels": 1, "num_classes": 10}
    assert base(torch.as_tensor(splits.train.x[:2])).shape == (2, 10)  # grey images, any size
    other = DataSpec(samples_per_class=3, image_size=16, domains=("clean",), name="shapes").load()
    check_compatible(base, other)  # any data fits: channels are repeated, the head is resized in training
    model, _ = prepare(base, "lora", rank=2, num_classes=len(other.train.class_names))
    assert model.base_model.net.fc.out_features == len(other.train.class_names)
    with pytest.raises(ConfigError, match="no classification model 'resnet9000'"):
        resolve_model("torchvision:resnet9000", splits)
    with pytest.raises(ConfigError, match="apply to torchvision: and timm: models"):
        resolve_model("arch:resnet-mini", splits, image_size=64)
