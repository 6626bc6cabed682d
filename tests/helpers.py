"""Small models and utilities shared by the adapter tests."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from metalora.adapters.base import ADAPTER_PREFIX
from metalora.methods import method_ids

METHODS = method_ids(adapter=True)
"""Every adapter method of the registry: a new one is tested everywhere by registering it."""


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run a block with ``n`` torch threads (the ``one_torch_thread`` fixture of tests/conftest.py does it
    for a whole test; this is for module-scoped fixtures)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def randomise_adapters(model: nn.Module, scale: float = 0.3, seed: int = 0) -> None:
    """Give every adapter factor (and the mapping network) non-zero random values, so ΔW ≠ 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf.startswith(ADAPTER_PREFIX) or name.startswith("mapping_network."):
                noise = torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype)
                if leaf == "adapter_core":
                    p.copy_(1 + scale * noise)
                else:
                    p.copy_(scale * noise)


def reference_conv(conv: nn.Conv2d, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """What ``conv`` computes with another weight, written with plain F.pad + F.conv2d."""
    if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        mode = "constant" if conv.padding_mode == "zeros" else conv.padding_mode
        x = F.pad(x, conv._reversed_padding_repeated_twice, mode=mode)
        padding = 0
    else:
        padding = conv.padding
    return F.conv2d(x, weight, conv.bias, conv.stride, padding, conv.dilation, conv.groups)


class TinyResNet(nn.Module):
    """A ResNet-style model: conv stem, a residual block with BatchNorm, pooled features, a head."""

    def __init__(self, c: int = 6, classes: int = 5):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.block = nn.ModuleList(
            [
                nn.Conv2d(c, c, 3, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.Conv2d(c, c, 3, stride=2, padding=1),
            ]
        )
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        r = self.block[2](torch.relu(self.block[1](self.block[0](h))))
        h = r + F.avg_pool2d(h, 2)
        return self.fc(h.mean(dim=(2, 3)))


class TinyMixer(nn.Module):
    """An MLP-Mixer-style model: conv patch embedding, token mixing on (B, C, T), channel mixing on (B, T, C)."""

    def __init__(self, dim: int = 8, patch: int = 4, size: int = 8, classes: int = 3):
        super().__init__()
        tokens = (size // patch) ** 2
        self.embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.token_mix = nn.Sequential(
            nn.Linear(tokens, 2 * tokens), nn.GELU(), nn.Linear(2 * tokens, tokens)
        )
        self.channel_mix = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        h = self.embed(x).flatten(2).transpose(1, 2)  # (B, T, C)
        h = h + self.token_mix(h.transpose(1, 2)).transpose(1, 2)
        h = h + self.channel_mix(self.norm(h))
        return self.head(h.mean(dim=1))


class TwoHeads(nn.Module):
    """Shared trunk, two heads, returns a dict."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 3)})

    def forward(self, x):
        f = self.trunk(x)
        return {k: h(f) for k, h in self.heads.items()}
