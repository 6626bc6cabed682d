"""A small MLP-Mixer (Tolstikhin et al., 2021) built only from ordinary layers.

Patches are embedded by an ``nn.Conv2d`` with ``kernel = stride = patch_size``; each block mixes
information across tokens with an MLP applied to ``(B, C, T)`` and across channels with an MLP
applied to ``(B, T, C)`` (both plain ``nn.Linear``). Tokens are mean-pooled and classified by
``head``, the *last registered* ``nn.Linear``. Every weight lives in a Conv2d, Linear or LayerNorm,
so MetaLoRA adapters can wrap the token-mixing, channel-mixing and head layers alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ModelError
from .normalize import Normalize, check_input, check_patch_model


class MlpBlock(nn.Module):
    """``Linear -> GELU -> Linear`` on the last axis."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., dim) -> (..., dim)
        return self.fc2(self.act(self.fc1(x)))


class MixerBlock(nn.Module):
    """Token mixing then channel mixing, each pre-normed with a residual connection."""

    def __init__(self, num_tokens: int, dim: int, token_hidden: int, channel_hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_mlp = MlpBlock(num_tokens, token_hidden)
        self.norm2 = nn.LayerNorm(dim)
        self.channel_mlp = MlpBlock(dim, channel_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        y = self.norm1(x).transpose(1, 2)  # (B, C, T)
        x = x + self.token_mlp(y).transpose(1, 2)  # (B, T, C)
        return x + self.channel_mlp(self.norm2(x))  # (B, T, C)


class MlpMixer(nn.Module):
    """MLP-Mixer classifier for ``image_size x image_size`` inputs.

    Parameters
    ----------
    in_channels
        Channels of the input images.
    image_size
        Side of the (square) input images; must be divisible by ``patch_size``.
    patch_size
        Side of each patch; ``T = (image_size / patch_size)**2`` tokens.
    dim
        Channels per token ``C``.
    depth
        Number of mixer blocks.
    token_hidden, channel_hidden
        Hidden sizes of the token-mixing and channel-mixing MLPs.
    num_classes
        Number of output logits.
    mean, std
        Input normalisation applied by the leading :class:`Normalize` module.
    """

    def __init__(
        self,
        in_channels: int = 3,
        image_size: int = 32,
        patch_size: int = 4,
        dim: int = 64,
        depth: int = 4,
        token_hidden: int = 64,
        channel_hidden: int = 128,
        num_classes: int = 10,
        mean: float | Sequence[float] = 0.5,
        std: float | Sequence[float] = 0.5,
    ):
        super().__init__()
        check_patch_model(
            image_size,
            patch_size,
            in_channels=in_channels,
            dim=dim,
            depth=depth,
            token_hidden=token_hidden,
            channel_hidden=channel_hidden,
            num_classes=num_classes,
        )
        self.in_channels = int(in_channels)
        self.image_size = int(image_size)
        self.patch_size = int(patch_size)
        self.num_classes = int(num_classes)
        self.num_tokens = (image_size // patch_size) ** 2
        self.feature_dim = int(dim)

        self.normalize = Normalize(in_channels, mean, std)
        self.patch_embed = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.blocks = nn.Sequential(
            *[MixerBlock(self.num_tokens, dim, token_hidden, channel_hidden) for _ in range(depth)]
        )
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)  # the head: last registered nn.Linear

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, dim)
        """Mean-pooled token features: the input of ``head``."""
        check_input(x, self.in_channels, "MlpMixer")
        if x.shape[-2:] != (self.image_size, self.image_size):
            raise ModelError(
                f"MlpMixer was built for {self.image_size}x{self.image_size} images but got "
                f"{x.shape[-2]}x{x.shape[-1]}.",
                f"Resize the images to {self.image_size}x{self.image_size}, or build the model with "
                "a matching image_size (token mixing has a fixed number of tokens).",
            )
        h = self.patch_embed(self.normalize(x))  # (B, dim, H/p, W/p)
        h = h.flatten(2).transpose(1, 2)  # (B, T, dim)
        h = self.norm(self.blocks(h))  # (B, T, dim)
        return h.mean(dim=1)  # (B, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, num_classes)
        return self.head(self.forward_features(x))
