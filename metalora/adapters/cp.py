"""CP-format adapters: static CP and MetaLoRA-CP.

Linear: ΔW(x) = A · diag(s(x)) · Bᵀ, so y = W0·u + α · A (s(x) ⊙ Bᵀu): LoRA with a diagonal core.
Conv (W0 ∈ R^{Cout×Cin×kh×kw}): ΔW(x) = Σ_r s_r(x) · a_r ∘ b_r ∘ c_r ∘ d_r, computed in factored form
as: 1×1 conv Bᵀ (Cin -> R) -> depthwise kh×kw conv with the rank-1 kernels c_r ∘ d_r
(equal to docs/method.md's kh×1 then 1×kw pair, in one call) -> multiply channel r by s_r(x) -> 1×1 conv A.
The other exact contractions (the first two steps as one conv, or the per-input kernel) are in
:mod:`~metalora.adapters.contraction`.
A grouped conv applies the same factors within each group (ΔW keeps W0's (Cout, Cin/G, kh, kw) shape).
A is zero at the start, so ΔW = 0 and the adapted model equals the base.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import AdapterLayer, ConvGeometry


class CPLinear(AdapterLayer):
    tensor_format = "cp"

    def _build_factors(self) -> None:
        self.adapter_A = nn.Parameter(torch.empty(self.base_layer.out_features, self.rank, **self._factory))
        self.adapter_B = nn.Parameter(torch.empty(self.base_layer.in_features, self.rank, **self._factory))

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.adapter_A)
        bound = 1 / math.sqrt(self.adapter_B.shape[0])
        nn.init.uniform_(self.adapter_B, -bound, bound)

    def rank_features(self, x, composed=False):
        return F.linear(x, self.adapter_B.t())  # (..., R)

    def output_weight(self):
        return self.adapter_A  # (out, R)

    def delta_weight_from_core(self, core):
        return torch.einsum("or,ir,br->boi", self.adapter_A, self.adapter_B, core)

    def kernel_basis(self):
        return torch.einsum("or,ir->roi", self.adapter_A, self.adapter_B)  # (R, out, in)


class CPConv2d(AdapterLayer):
    tensor_format = "cp"
    paths = ("factored", "composed", "kernel")

    def _build_factors(self) -> None:
        self.geometry = g = ConvGeometry(self.base_layer)
        kh, kw = g.kernel_size
        self.adapter_A = nn.Parameter(torch.empty(g.out_channels, self.rank, **self._factory))
        self.adapter_B = nn.Parameter(torch.empty(g.in_channels // g.groups, self.rank, **self._factory))
        self.adapter_C = nn.Parameter(torch.empty(kh, self.rank, **self._factory))
        self.adapter_D = nn.Parameter(torch.empty(kw, self.rank, **self._factory))

    def reset_parameters(self) -> None:
        # The product B·C·D then has the spread of a kaiming-initialised conv over Cin/G·kh·kw inputs.
        nn.init.zeros_(self.adapter_A)
        for t in (self.adapter_B, self.adapter_C, self.adapter_D):
            bound = math.sqrt(3.0 / t.shape[0])
            nn.init.uniform_(t, -bound, bound)
        with torch.no_grad():
            self.adapter_B.mul_(1 / math.sqrt(3.0))

    def rank_features(self, x, composed=False):
        g = self.geometry
        G, R = g.groups, self.rank
        if composed:  # one conv with the static kernel W[r, i, h, w] = B[i,r] C[h,r] D[w,r]
            w = torch.einsum("ir,hr,wr->rihw", self.adapter_B, self.adapter_C, self.adapter_D)
            return g.spatial_conv(x, w.repeat(G, 1, 1, 1), groups=G)
        z = g.project_in(x, self.adapter_B.t())  # (B, G·R, H, W)
        k = torch.einsum("hr,wr->rhw", self.adapter_C, self.adapter_D)  # self.rank-1 spatial kernels
        return g.spatial_conv(z, k.repeat(G, 1, 1).unsqueeze(1), groups=G * R)  # (B, G·R, H', W')

    def output_weight(self):
        return self.adapter_A  # (Cout, R), applied within each group

    def delta_weight_from_core(self, core):
        A, B, C, D = self.adapter_A, self.adapter_B, self.adapter_C, self.adapter_D
        return torch.einsum("or,ir,hr,wr,br->boihw", A, B, C, D, core)

    def kernel_basis(self):
        ab = torch.einsum("or,ir->roi", self.adapter_A, self.adapter_B)  # (R, Cout, Cin/G)
        cd = torch.einsum("hr,wr->rhw", self.adapter_C, self.adapter_D)  # (R, kh, kw)
        return ab[:, :, :, None, None] * cd[:, None, None]  # (R, Cout, Cin/G, kh, kw)
