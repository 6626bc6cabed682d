"""A small Vision Transformer (Dosovitskiy et al., 2021) built only from ordinary layers.

The MetaLoRA paper leaves transformers to future work; this backbone lets every method and analysis
of the library run on one. Patches are embedded by an ``nn.Conv2d`` with ``kernel = stride =
patch_size`` and a learned position embedding is added. Each pre-norm block runs multi-head
self-attention whose projections are plain ``nn.Linear`` layers (``qkv`` and ``proj``, with
:func:`torch.nn.functional.scaled_dot_product_attention` in between) and an MLP (``fc1``, GELU,
``fc2``). ``nn.MultiheadAttention`` is avoided on purpose: it reads its projection weights directly,
so adapters could not wrap them. Tokens are mean-pooled (no class token) and classified by
``head``, the *last registered* ``nn.Linear``, whose input is MetaLoRA's default feature source.

References
----------
A. Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", ICLR 2021.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ConfigError, ModelError
from .normalize import Normalize, check_input, check_patch_model


class Attention(nn.Module):
    """Multi-head self-attention from two ``nn.Linear`` layers (``qkv`` and ``proj``)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        b, t, c = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads)  # (B, T, 3, h, C/h)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x (B, h, T, C/h)
        y = F.scaled_dot_product_attention(q, k, v)  # (B, h, T, C/h)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))  # (B, T, C)


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2`` on the last axis."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., dim) -> (..., dim)
        return self.fc2(self.act(self.fc1(x)))


class TransformerBlock(nn.Module):
    """Attention then MLP, each pre-normed with a residual connection."""

    def __init__(self, dim: int, heads: int, mlp_hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        x = x + self.attn(self.norm1(x))  # (B, T, C)
        return x + self.mlp(self.norm2(x))  # (B, T, C)


class VisionTransformer(nn.Module):
    """Vision Transformer classifier for ``image_size x image_size`` inputs.

    Parameters
    ----------
    in_channels
        Channels of the input images.
    image_size
        Side of the (square) input images; must be divisible by ``patch_size``. The position
        embedding has one entry per patch, so the model takes only this size.
    patch_size
        Side of each patch; ``T = (image_size / patch_size)**2`` tokens.
    dim
        Channels per token ``C``; must be divisible by ``heads``.
    depth
        Number of transformer blocks.
    heads
        Attention heads per block (each of width ``dim / heads``).
    mlp_hidden
        Hidden size of each block's MLP.
    num_classes
        Number of output logits.
    mean, std
        Input normalisation applied by the leading :class:`Normalize` module.

    References
    ----------
    A. Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
    Scale", ICLR 2021.
    """

    def __init__(
        self,
        in_channels: int = 3,
        image_size: int = 32,
        patch_size: int = 4,
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        mlp_hidden: int = 128,
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
            heads=heads,
            mlp_hidden=mlp_hidden,
            num_classes=num_classes,
        )
        if dim % heads:
            raise ConfigError(
                f"dim={dim} is not divisible by heads={heads}.",
                "Choose a number of heads that divides dim (e.g. heads=4 for dim=64).",
            )
        self.in_channels = int(in_channels)
        self.image_size = int(image_size)
        self.patch_size = int(patch_size)
        self.num_classes = int(num_classes)
        self.num_tokens = (image_size // patch_size) ** 2
        self.feature_dim = int(dim)
        self.heads = int(heads)

        self.normalize = Normalize(in_channels, mean, std)
        self.patch_embed = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_tokens, dim))  # (1, T, dim)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.Sequential(*[TransformerBlock(dim, heads, mlp_hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)  # the head: last registered nn.Linear

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, dim)
        """Mean-pooled token features: the input of ``head``."""
        check_input(x, self.in_channels, "VisionTransformer")
        if x.shape[-2:] != (self.image_size, self.image_size):
            raise ModelError(
                f"VisionTransformer was built for {self.image_size}x{self.image_size} images but got "
                f"{x.shape[-2]}x{x.shape[-1]}.",
                f"Resize the images to {self.image_size}x{self.image_size}, or build the model with "
                "a matching image_size (the position embedding has a fixed number of tokens).",
            )
        h = self.patch_embed(self.normalize(x))  # (B, dim, H/p, W/p)
        h = h.flatten(2).transpose(1, 2) + self.pos_embed  # (B, T, dim)
        h = self.norm(self.blocks(h))  # (B, T, dim)
        return h.mean(dim=1)  # (B, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, num_classes)
        return self.head(self.forward_features(x))
