"""Methods: each trains exactly what it should; rank matching hits the budget; save / load round trips."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from metalora.errors import ConfigError, ModelError
from metalora.methods import method_ids
from metalora.models import build_model
from metalora.training.methods import (
    HeadOnlyModel,
    load_trained,
    match_ranks,
    prepare,
    save_trained,
    saved_method,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_base() -> torch.nn.Module:
    torch.manual_seed(123)
    return build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16, 16))


def one_step(model: torch.nn.Module, params: list, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    x, y = torch.rand(8, 1, 16, 16, generator=g), torch.randint(0, 10, (8,), generator=g)
    model.train()
    opt = torch.optim.SGD(params, lr=0.5)
    F.cross_entropy(model(x), y).backward()
    opt.step()


def state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer by name, names relative to the backbone."""
    out = {}
    for n, t in [*model.named_parameters(), *model.named_buffers()]:
        out[n.removeprefix("base_model.")] = t.detach().clone()
    return out


def test_all_methods_listed():
    assert method_ids() == ("head", "full", "lora", "cp", "tr", "meta-cp", "meta-tr")


@pytest.mark.parametrize("method", method_ids())
def test_each_method_trains_only_what_it_should(method):
    model, params = prepare(small_base(), method, rank=2, seed=0)
    trainable = {n.removeprefix("base_model.") for n, p in model.named_parameters() if p.requires_grad}
    assert {id(p) for p in params} == {id(p) for p in model.parameters() if p.requires_grad}
    before = state(model)
    one_step(model, params)
    after = state(model)
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    frozen_changed = changed - trainable
    if method == "full":
        assert trainable == {n for n, _ in small_base().named_parameters()}
        assert any("running_mean" in n for n in frozen_changed)  # full fine-tuning updates BN statistics
        assert {"fc.weight", "stem.0.weight"} <= changed
        return
    assert not frozen_changed, f"{method} changed frozen tensors: {sorted(frozen_changed)[:5]}"
    assert changed, f"{method} changed nothing"
    if method == "head":
        assert isinstance(model, HeadOnlyModel)
        assert trainable == {"fc.weight", "fc.bias"}
    else:
        assert all(".adapter_" in n or n.startswith("mapping_network.") for n in trainable)
        assert any(n.startswith("mapping_network.") for n in trainable) == method.startswith("meta-")
        assert not any(n.endswith("base_layer.weight") for n in trainable)


def test_head_is_reinitialised_with_the_seed_and_data_classes():
    a, _ = prepare(small_base(), "head", seed=1)
    b, _ = prepare(small_base(), "head", seed=1)
    c, _ = prepare(small_base(), "head", seed=2)
    assert torch.equal(a.head.weight, b.head.weight)
    assert not torch.equal(a.head.weight, c.head.weight)
    assert not torch.equal(a.head.weight, small_base().fc.weight)
    d, _ = prepare(small_base(), "head", num_classes=4)
    assert d(torch.rand(2, 1, 16, 16)).shape == (2, 4)


def test_adapter_init_is_seeded():
    a, _ = prepare(small_base(), "meta-tr", rank=2, seed=5)
    b, _ = prepare(small_base(), "meta-tr", rank=2, seed=5)
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert torch.equal(p, q), n


def test_unknown_method_lists_the_allowed_ones():
    with pytest.raises(ConfigError) as err:
        prepare(small_base(), "dora")
    for m in method_ids():
        assert m in str(err.value)


def test_alpha_defaults_to_twice_the_rank():
    model, _ = prepare(small_base(), "lora", rank=3)
    assert model.config.alpha == 6.0


@pytest.mark.parametrize("budget", [3000, 20000])
def test_match_ranks_hits_the_budget(budget):
    methods = ("head", "lora", "cp", "tr", "meta-cp", "meta-tr")
    match = match_ranks(small_base, methods, budget)
    assert match["head"] is None and match.counts["head"] == 16 * 10 + 10
    for m in methods[1:]:
        r = match[m]
        assert 1 <= r <= 64
        _, params = prepare(small_base(), m, rank=r)
        assert sum(p.numel() for p in params) == match.counts[m]  # the reported count is the real one
        # no neighbouring rank is closer to the budget
        for other in (r - 1, r + 1):
            if 1 <= other <= 64:
                n = sum(p.numel() for p in prepare(small_base(), m, rank=other)[1])
                assert abs(match.counts[m] - budget) <= abs(n - budget)
    # stated tolerance: within 35% of the budget for every method (the rank steps of TR are coarse)
    assert all(match.relative_error(m) <= 0.35 for m in methods[1:]), match.counts


def test_match_ranks_refuses_a_bad_budget():
    with pytest.raises(ConfigError):
        match_ranks(small_base, ["lora"], 0)


@pytest.mark.parametrize("method", ["head", "full", "meta-cp"])
def test_save_and_load_round_trip(tmp_path, method):
    model, params = prepare(small_base(), method, rank=2, seed=0)
    one_step(model, params)
    model.eval()
    x = torch.rand(4, 1, 16, 16)
    with torch.no_grad():
        want = model(x)
    save_trained(model, method, tmp_path / "run")
    assert saved_method(tmp_path / "run") == method
    again = load_trained(small_base(), tmp_path / "run")
    with torch.no_grad():
        torch.testing.assert_close(again(x), want)


def test_loading_onto_another_architecture_is_refused(tmp_path):
    model, _ = prepare(small_base(), "head")
    save_trained(model, "head", tmp_path)
    other = build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16, 32))
    with pytest.raises(ModelError, match="different base model"):
        load_trained(other, tmp_path)


@pytest.mark.parametrize("method", method_ids(adapter=True))
def test_a_new_head_for_other_classes_is_trained_in_full_and_saved(method, tmp_path):
    from metalora.training.methods import load_trained, save_trained

    torch.manual_seed(0)
    model, params = prepare(
        build_model("resnet-mini", in_channels=1, num_classes=10), method, rank=2, num_classes=4
    )
    head = model.base_model.fc
    assert head.out_features == 4 and "fc" in model.modules_to_save() and "fc" not in model.adapted_layers()
    assert {id(p) for p in head.parameters()} <= {id(p) for p in params}
    x = torch.rand(3, 1, 16, 16)
    with torch.no_grad():
        head.weight.add_(1.0)  # as if trained
    save_trained(model, method, tmp_path)
    torch.manual_seed(0)
    again = load_trained(build_model("resnet-mini", in_channels=1, num_classes=10), tmp_path)  # the original
    assert torch.equal(again.base_model.fc.weight, head.weight)
    assert torch.allclose(again(x), model.eval()(x))
