"""LoRA (Hu et al., 2021): the static baseline, ΔW = B·A.

For a conv, A is a kh×kw conv Cin -> R with the base conv's geometry and B a 1×1 conv R -> Cout, as
LoCon and PEFT do. A grouped conv gets a rank-R update per group (A, B grouped the same way), so the
update has exactly W0's block structure.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import AdapterLayer, ConvGeometry, kaiming_


class LoRALinear(AdapterLayer):
    tensor_format = "lora"

    def _build_factors(self) -> None:
        self.adapter_A = nn.Parameter(torch.empty(self.rank, self.base_layer.in_features, **self._factory))
        self.adapter_B = nn.Parameter(torch.empty(self.base_layer.out_features, self.rank, **self._factory))

    def reset_parameters(self) -> None:
        kaiming_(self.adapter_A)
        nn.init.zeros_(self.adapter_B)

    def rank_features(self, x, composed=False):
        return F.linear(x, self.adapter_A)  # (..., R)

    def output_weight(self):
        return self.adapter_B  # (out, R)

    def delta_weight_from_core(self, core):
        return self.adapter_B @ self.adapter_A  # (out, in)

    def kernel_basis(self):
        return self.adapter_B @ self.adapter_A


class LoRAConv2d(AdapterLayer):
    tensor_format = "lora"

    def _build_factors(self) -> None:
        self.geometry = g = ConvGeometry(self.base_layer)
        kh, kw = g.kernel_size
        cin_g = g.in_channels // g.groups
        self.adapter_A = nn.Parameter(torch.empty(g.groups * self.rank, cin_g, kh, kw, **self._factory))
        self.adapter_B = nn.Parameter(torch.empty(g.out_channels, self.rank, 1, 1, **self._factory))

    def reset_parameters(self) -> None:
        kaiming_(self.adapter_A)
        nn.init.zeros_(self.adapter_B)

    def rank_features(self, x, composed=False):
        g = self.geometry
        return g.spatial_conv(x, self.adapter_A, groups=g.groups)  # (B, G·R, H', W')

    def output_weight(self):
        return self.adapter_B[:, :, 0, 0]  # (Cout, R)

    def delta_weight_from_core(self, core):
        g = self.geometry
        G, R = g.groups, self.rank
        a = self.adapter_A.reshape(G, R, *self.adapter_A.shape[1:])  # (G, R, Cin/G, kh, kw)
        b = self.adapter_B.reshape(G, -1, R)  # (G, Cout/G, R)
        return torch.einsum("gor,grihw->goihw", b, a).reshape(g.out_channels, *a.shape[2:])

    def kernel_basis(self):
        return self.delta_weight_from_core(None)
