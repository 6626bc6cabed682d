"""Input normalisation as a module, so that every backbone takes images in ``[0, 1]``.

The mean and standard deviation live in non-trainable buffers: they travel with the weights in a
checkpoint, move with ``model.to(device)``, and are never touched by an optimiser or mistaken for
an adaptable layer (the module is neither ``nn.Conv2d`` nor ``nn.Linear``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError, ModelError


def _per_channel(values: float | Sequence[float], channels: int, field: str) -> list[float]:
    """Broadcast a scalar to ``channels`` values, or check that a sequence has that length."""
    if isinstance(values, (int, float)):
        return [float(values)] * channels
    out = [float(v) for v in values]
    if len(out) == 1:
        return out * channels
    if len(out) != channels:
        raise ConfigError(
            f"{field} has {len(out)} values but the model has in_channels={channels}.",
            f"Give one value, or exactly {channels} values (one per channel).",
        )
    return out


class Normalize(nn.Module):
    """Map images in ``[0, 1]`` to ``(x - mean) / std`` per channel.

    Parameters
    ----------
    channels
        Number of input channels ``C``.
    mean, std
        One value for all channels or one value per channel. ``std`` must be positive.
    """

    def __init__(
        self, channels: int, mean: float | Sequence[float] = 0.5, std: float | Sequence[float] = 0.5
    ):
        super().__init__()
        m = _per_channel(mean, channels, "mean")
        s = _per_channel(std, channels, "std")
        if any(v <= 0 for v in s):
            raise ConfigError(f"std={s} contains a value <= 0.", "Use positive standard deviations.")
        self.channels = channels
        self.register_buffer("mean", torch.tensor(m, dtype=torch.float32).view(1, channels, 1, 1))
        self.register_buffer("std", torch.tensor(s, dtype=torch.float32).view(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H, W)
        """Normalise ``x``; the buffers are cast to ``x``'s dtype (autocast, half precision)."""
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


def check_input(x: torch.Tensor, channels: int, model_name: str) -> None:
    """Raise a :class:`~metalora.errors.ModelError` unless ``x`` is a ``(B, channels, H, W)`` batch."""
    if x.dim() != 4 or x.shape[1] != channels:
        raise ModelError(
            f"{model_name} expects images of shape (B, {channels}, H, W) but got {tuple(x.shape)}.",
            f"Give a batch of {channels}-channel images in [0, 1], or build the model with "
            f"in_channels={x.shape[1] if x.dim() == 4 else '<channels of your data>'}.",
        )


def check_patch_model(image_size: int, patch_size: int, **sizes: int) -> None:
    """The constructor checks every patch-token model shares: each size positive (``num_classes`` at least
    2), and the image divisible into patches; :class:`~metalora.errors.ConfigError` names the field."""
    for field, value in {"image_size": image_size, "patch_size": patch_size, **sizes}.items():
        low = 2 if field == "num_classes" else 1
        if int(value) < low:
            raise ConfigError(f"{field}={value} must be >= {low}.", "Pick a positive size.")
    if image_size % patch_size:
        raise ConfigError(
            f"image_size={image_size} is not divisible by patch_size={patch_size}.",
            "Choose a patch_size that divides the image size (e.g. 4 for 32x32 images).",
        )
