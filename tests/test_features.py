"""Feature sources of the mapping network: the frozen backbone and the cheap input statistics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from metalora import MetaLoRAConfig, get_model
from metalora.adapters import load_adapter
from metalora.adapters.features import InputStatistics
from metalora.errors import ConfigError, ModelError


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4)
    )


def test_input_statistics_of_images_match_a_plain_computation():
    x = torch.rand(6, 3, 16, 16)
    f = InputStatistics(3, grid=4)(x)
    assert f.shape == (6, 3 * (2 + 16))
    torch.testing.assert_close(f[:, :3], x.mean(dim=(2, 3)))
    torch.testing.assert_close(f[:, 3:6], x.std(dim=(2, 3)))
    # the thumbnail cell (0, 0) of channel 0 is the mean of the top-left 4x4 block
    torch.testing.assert_close(f[:, 6], x[:, 0, :4, :4].mean(dim=(1, 2)))


def test_input_statistics_of_tokens_and_vectors():
    t = torch.rand(5, 7, 4)
    f = InputStatistics(4, image=False)(t)
    assert f.shape == (5, 12)
    torch.testing.assert_close(f[:, 8:], t.amax(dim=1))
    v = InputStatistics(4, image=False)(torch.rand(5, 4))
    assert v.shape == (5, 12) and torch.all(v[:, 4:8] == 0)  # one token: no spread


def test_input_statistics_refuse_the_wrong_channels_with_a_hint():
    with pytest.raises(ModelError, match="feature_source='backbone'"):
        InputStatistics(3)(torch.rand(2, 1, 8, 8))


def test_meta_model_with_input_statistics_starts_at_the_base_and_reacts_to_the_input(tmp_path):
    base = _cnn()
    x = torch.rand(4, 3, 16, 16)
    ref = base(x)
    net = get_model(base, MetaLoRAConfig(method="meta-tr", rank=2, feature_source="input-stats"))
    torch.testing.assert_close(net(x), ref)  # zero initialisation
    assert net.features(x).shape == (4, 3 * 18)
    with torch.no_grad():  # move away from the zero init so that seeds depend on the input
        for p in net.parameters():
            if p.requires_grad:
                p.normal_(0, 0.3)
    seeds = net.scaling_factors(x)
    assert [s.shape[0] for s in seeds.values()] == [4] * len(seeds)
    first = next(iter(seeds.values()))
    assert not torch.allclose(first[0], first[1])  # different inputs, different seeds
    net.save_adapter(tmp_path)
    again = load_adapter(_cnn(), tmp_path)
    torch.testing.assert_close(again(x), net(x))


def test_unknown_feature_source_names_the_allowed_ones():
    with pytest.raises(ConfigError, match="input-stats"):
        MetaLoRAConfig(feature_source="pixels")


def test_a_random_seed_initialisation_keeps_the_base_output_and_varies_the_seeds():
    base = _cnn()
    x = torch.rand(4, 3, 16, 16)
    ref = base(x)
    net = get_model(base, MetaLoRAConfig(method="meta-cp", rank=3, scaling_init_std=0.5))
    torch.testing.assert_close(net(x), ref)  # ΔW = 0: the output-side factor is still zero
    seeds = next(iter(net.scaling_factors(x).values()))
    assert not torch.allclose(seeds[0], seeds[1])
    flat = get_model(_cnn(), MetaLoRAConfig(method="meta-cp", rank=3))
    assert torch.equal(next(iter(flat.scaling_factors(x).values())), torch.ones(4, 3))
    with pytest.raises(ConfigError, match="scaling_init_std"):
        MetaLoRAConfig(scaling_init_std=-1.0)
