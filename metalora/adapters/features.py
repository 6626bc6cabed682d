"""Per-input features for the mapping network (MetaLoRA's feature-extraction module).

The default reuses the frozen backbone itself: the input of its classifier head is the pooled
penultimate feature vector. We run the base with adapters switched off and stop it as soon as that
input is seen, so the feature pass costs a little less than one frozen forward and no gradients.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, ModelError


def pool(features: torch.Tensor) -> torch.Tensor:
    """(B, F) as is; (B, T, C) -> mean over tokens; (B, C, H, W) -> global average pool; else flatten."""
    if features.dim() == 2:
        return features
    if features.dim() == 3:
        return features.mean(dim=1)
    if features.dim() == 4:
        return features.mean(dim=(2, 3))
    return features.flatten(1)


class _Captured(Exception):
    def __init__(self, value: torch.Tensor):
        self.value = value


def default_feature_layer(model: nn.Module) -> str:
    """The name of the model's last registered nn.Linear (its classifier head, in usual backbones)."""
    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ConfigError(
            "feature_source='backbone' reads the input of the model's last nn.Linear, and this model has none.",
            "Name the module whose input is the feature vector with feature_layer=..., "
            "or pass a feature extractor module as feature_source.",
        )
    return linears[-1]


def infer_feature_dim(layer: nn.Module) -> int | None:
    if isinstance(layer, nn.Linear):
        return layer.in_features
    if isinstance(layer, nn.Conv2d):
        return layer.in_channels
    for attr in ("feature_dim", "out_features", "num_features", "embed_dim"):
        value = getattr(layer, attr, None)
        if isinstance(value, int):
            return value
    return None


def capture_input(model: nn.Module, layer: nn.Module, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    """Run ``model`` until ``layer`` is called and return that call's first input (no gradients)."""

    def hook(_module, inputs):
        raise _Captured(inputs[0])

    handle = layer.register_forward_pre_hook(hook)
    try:
        with torch.no_grad():
            model(x, *args, **kwargs)
    except _Captured as captured:
        return captured.value
    finally:
        handle.remove()
    raise ModelError(
        "The feature layer was never called during the forward pass.",
        "Pick a feature_layer that the model's forward actually uses.",
    )
