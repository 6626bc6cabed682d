"""The parameter-space mapping network: per-input features -> the scaling factors of every adapted layer.

    s(x) = 1 + H · GELU(W · LayerNorm(f(x)))

H starts at zero, so every scaling factor starts at the constant 1 (docs/method.md, "Initialisation": "initialise so that s starts near
a constant"); the static methods start from the same core, which makes meta-vs-static comparisons fair.
``init_std > 0`` draws H from N(0, init_std²) instead, so that the scaling factors differ between inputs from the start.
"""

from __future__ import annotations

import torch
from torch import nn


class MappingNetwork(nn.Module):
    """Maps features (B, F) to the concatenated scaling factors (B, Σ_l R_l) of all adapted layers."""

    def __init__(self, feature_dim: int, hidden: int, sizes: dict[str, int], init_std: float = 0.0):
        super().__init__()
        self.sizes = dict(sizes)  # layer name -> R_l, in the order of the output columns
        total = sum(self.sizes.values())
        self.norm = nn.LayerNorm(feature_dim)
        self.hidden = nn.Linear(feature_dim, hidden)
        self.act = nn.GELU()
        self.out = nn.Linear(hidden, total)
        if init_std > 0:
            nn.init.normal_(self.out.weight, std=init_std)
        else:
            nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        h = self.act(self.hidden(self.norm(features)))  # (B, hidden)
        return 1.0 + self.out(h)  # (B, ΣR)

    def split(self, scaling: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cut the concatenated scaling factors (B, ΣR) into {layer name: (B, R_l)}."""
        return dict(zip(self.sizes, scaling.split(list(self.sizes.values()), dim=-1), strict=True))
