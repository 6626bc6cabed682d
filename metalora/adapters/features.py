"""Per-input features for the mapping network (MetaLoRA's feature-extraction module).

The default reuses the frozen backbone itself: the input of its classifier head is the pooled
penultimate feature vector. We run the base with adapters switched off and stop it as soon as that
input is seen (:class:`FeatureTap`; under ``torch.compile`` it runs on to the end instead), so the feature
pass costs a little less than one frozen forward and no gradients.
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


class FeatureTap:
    """A forward pre-hook kept on the feature layer (registered once): while armed, it takes the layer's input.

    Run eagerly it stops the forward there (an exception), so the feature pass ends at the feature layer.
    Inside ``torch.compile`` it keeps the input and lets the forward run on (the layers after the feature
    layer, usually the head alone, run in vain): there, registering a hook or
    raising breaks the graph (it broke it twice per step; ``benchmarks/bench_compile.py`` counts the breaks),
    so the tap is made once, eagerly, when the model is built (a layer replaced later gets one on first use).
    """

    ATTRIBUTE = "_metalora_feature_tap"
    """Where the layer keeps its tap (a layer replaced later, e.g. a resized head, gets a new one)."""

    def __init__(self, layer: nn.Module):
        self.armed = False
        self.value: torch.Tensor | None = None
        self._handle = layer.register_forward_pre_hook(self)
        setattr(layer, self.ATTRIBUTE, self)

    @classmethod
    def remove_from(cls, root: nn.Module) -> None:
        """Take every tap out of ``root``'s modules (their hooks and attributes): the model is as it was."""
        for module in root.modules():
            tap = cls.of(module)
            if tap is not None:
                tap._handle.remove()
                delattr(module, cls.ATTRIBUTE)

    @classmethod
    def of(cls, layer: nn.Module) -> FeatureTap | None:
        """The tap ``layer`` holds, if any."""
        return layer.__dict__.get(cls.ATTRIBUTE)

    def __call__(self, _module: nn.Module, inputs: tuple) -> None:
        if not self.armed:
            return
        if torch.compiler.is_compiling():
            self.value = inputs[0]
            return
        raise _Captured(inputs[0])

    def capture(self, model: nn.Module, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        """Run ``model`` (no gradients) and return the first input of the tapped layer's call."""
        self.armed, self.value = True, None
        try:
            with torch.no_grad():
                model(x, *args, **kwargs)
        except _Captured as captured:
            return captured.value
        finally:
            self.armed = False
        value, self.value = self.value, None
        if value is None:
            raise ModelError(
                "The feature layer was never called during the forward pass.",
                "Pick a feature_layer that the model's forward actually uses.",
            )
        return value


class InputStatistics(nn.Module):
    """A cheap feature source that reads the input only: no backbone pass.

    For images (B, C, H, W): per-channel mean and standard deviation plus a ``grid x grid`` average-pooled
    thumbnail of every channel, so (B, C * (2 + grid²)). For tokens (B, T, C) or vectors (B, C): mean and
    standard deviation and maximum over the tokens, so (B, 3 * C).
    It is the ablation baseline for the paper's frozen-ResNet features: what do the scaling factors learn from
    colour, contrast and layout alone? It has no parameters; ``channels`` only fixes its output width.
    """

    def __init__(self, channels: int, grid: int = 4, image: bool = True):
        super().__init__()
        self.channels, self.grid, self.image = int(channels), int(grid), bool(image)
        self.feature_dim = self.channels * (2 + self.grid**2) if self.image else 3 * self.channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.image:
            if x.dim() != 4 or x.shape[1] != self.channels:
                raise ModelError(
                    f"Input statistics expected images (B, {self.channels}, H, W), got {tuple(x.shape)}.",
                    "Use feature_source='backbone' for this model.",
                )
            thumb = nn.functional.adaptive_avg_pool2d(x, self.grid).flatten(1)  # (B, C * grid²)
            return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3)), thumb], dim=1)
        tokens = x if x.dim() == 3 else x.unsqueeze(1)  # (B, T, C)
        std = tokens.std(dim=1) if tokens.shape[1] > 1 else torch.zeros_like(tokens[:, 0])
        return torch.cat([tokens.mean(dim=1), std, tokens.amax(dim=1)], dim=1)  # (B, 3 * C)

    @classmethod
    def for_model(cls, model: nn.Module, grid: int = 4) -> InputStatistics:
        """Sized by the model's first Conv2d (images) or, failing that, its first Linear (vectors)."""
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                return cls(m.in_channels, grid, image=True)
            if isinstance(m, nn.Linear):
                return cls(m.in_features, grid, image=False)
        raise ConfigError("feature_source='input-stats' needs a model with a Conv2d or Linear layer.")


class FeatureCache:
    """The pooled features of a fixed set of inputs (a training split held as it is), filled as they are seen.

    The feature pass is frozen and runs in eval mode, so an input's features never change: an epoch after the
    first reads them from here instead of running the backbone again (:meth:`MetaLoRAModel.cached_features`).
    Only for inputs that are the same every epoch: no augmentation.
    """

    MAX_BYTES = 512 * 2**20  # beyond this (about 250 k images of 512 float32 features) nothing is cached

    def __init__(self, size: int):
        self.size = int(size)
        # (N, F) on the features' device, allocated at the first store
        self.values: torch.Tensor | None = None
        self.known = torch.zeros(self.size, dtype=torch.bool)
        self.hits = self.misses = 0

    def lookup(self, indices: torch.Tensor, compute) -> torch.Tensor:
        """Features (B, F) of the inputs ``indices`` (B,): from the cache when all are known, else ``compute()``."""
        idx = indices.detach().to("cpu", torch.long)
        if self.values is not None and bool(self.known[idx].all()):
            self.hits += 1
            return self.values[idx.to(self.values.device)]
        features = compute()
        self.misses += 1
        if features.dim() == 2 and features.shape[0] == len(idx):
            if self.values is None:
                if self.size * features.shape[1] * features.element_size() > self.MAX_BYTES:
                    return features
                self.values = features.new_zeros(self.size, features.shape[1])
            if features.shape[1] == self.values.shape[1] and features.dtype == self.values.dtype:
                self.values[idx.to(self.values.device)] = features
                self.known[idx] = True
        return features
