"""Tensor-Ring adapters: static TR and MetaLoRA-TR (Zhao et al., 2016, "Tensor Ring Decomposition").

Conv kernel update with cores G1 (R0×Cout×R1), G2 (R1×Cin×R2), G3 (R2×kh×R3), G4 (R3×kw×R0):

    ΔW(x)[o,i,h,w] = Tr(G1[:,o,:] · G2[:,i,:] · G3[:,h,:] · G4[:,w,:] · diag(s(x)))

The scaling factors sit on the bond that closes the ring. The factored forward:
1×1 conv with G2 (Cin -> R1·R2) -> grouped spatial conv with K[a,c] = Σ_d G3[c,:,d] G4[d,:,a] (groups = R1)
-> scale bond a by s_a(x) -> 1×1 conv with G1
(R1·R0 -> Cout), where the scale folds into a per-input (Cout, R1·R0) projection matrix. The ``composed``
contraction runs the first two steps as one conv with the static kernel Σ_c G2·K; the ``kernel`` one builds
W0 + ΔW(x) per input from :meth:`TRConv2d.kernel_basis`. Which one a layer runs is chosen by
:mod:`~metalora.adapters.contraction`.
Linear: ΔW(x)[o,i] = Tr(G1[:,o,:] · G2[:,i,:] · diag(s(x))). All ring ranks equal ``rank``.
A grouped conv applies the same cores within each group. G1 starts at zero, so ΔW = 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import AdapterLayer, ConvGeometry


def _bond_scale(core: torch.Tensor | None, rank: int) -> torch.Tensor | None:
    """The scaling factor s_a on bond a, tiled over the other open bond b: rank-space channel (b, a) gets s_a."""
    if core is None:
        return None
    return core.repeat(rank) if core.dim() == 1 else core.repeat(1, rank)  # (R1·R0,) or (B, R1·R0)


def _uniform(t: torch.Tensor, std: float) -> None:
    bound = math.sqrt(3.0) * std
    nn.init.uniform_(t, -bound, bound)


class TRLinear(AdapterLayer):
    tensor_format = "tr"

    def _build_factors(self) -> None:
        R = self.rank
        self.adapter_G1 = nn.Parameter(torch.empty(R, self.base_layer.out_features, R, **self._factory))
        self.adapter_G2 = nn.Parameter(torch.empty(R, self.base_layer.in_features, R, **self._factory))

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.adapter_G1)
        _uniform(self.adapter_G2, 1 / math.sqrt(3 * self.adapter_G2.shape[1]))

    def rank_features(self, x, composed=False):
        w_in = self.adapter_G2.permute(0, 2, 1).reshape(self.rank**2, -1)  # (R1·R0, in), order (b, a)
        return F.linear(x, w_in)  # (..., R1·R0)

    def channel_scale(self, core):
        return _bond_scale(core, self.rank)

    def output_weight(self):
        return self.adapter_G1.permute(1, 2, 0).reshape(-1, self.rank**2)  # (out, R1·R0), order (b, a)

    def delta_weight_from_core(self, core):
        return torch.einsum("aob,bia,na->noi", self.adapter_G1, self.adapter_G2, core)

    def kernel_basis(self):
        return torch.bmm(self.adapter_G1, self.adapter_G2.permute(2, 0, 1))  # (R0, out, in), Σ over bond b


class TRConv2d(AdapterLayer):
    tensor_format = "tr"
    paths = ("factored", "composed", "kernel")

    def _build_factors(self) -> None:
        self.geometry = g = ConvGeometry(self.base_layer)
        kh, kw = g.kernel_size
        R = self.rank
        f = self._factory
        self.adapter_G1 = nn.Parameter(torch.empty(R, g.out_channels, R, **f))
        self.adapter_G2 = nn.Parameter(torch.empty(R, g.in_channels // g.groups, R, **f))
        self.adapter_G3 = nn.Parameter(torch.empty(R, kh, R, **f))
        self.adapter_G4 = nn.Parameter(torch.empty(R, kw, R, **f))

    def reset_parameters(self) -> None:
        # Unit-variance intermediates: G2 averages Cin/G inputs; K = G3·G4 then averages R2·kh·kw.
        R, (kh, kw) = self.rank, self.geometry.kernel_size
        nn.init.zeros_(self.adapter_G1)
        _uniform(self.adapter_G2, 1 / math.sqrt(3 * self.adapter_G2.shape[1]))
        spatial_std = (R * R * kh * kw) ** -0.25
        _uniform(self.adapter_G3, spatial_std)
        _uniform(self.adapter_G4, spatial_std)

    def rank_features(self, x, composed=False):
        g, R = self.geometry, self.rank
        G = g.groups
        if composed:  # one conv with the static kernel W[(b,a), i] = Σ_c G2[b,i,c] K[a,c]
            w = torch.einsum("bic,chd,dwa->baihw", self.adapter_G2, self.adapter_G3, self.adapter_G4)
            return g.spatial_conv(x, w.reshape(R * R, *w.shape[2:]).repeat(G, 1, 1, 1), groups=G)
        w_in = self.adapter_G2.permute(0, 2, 1).reshape(R * R, -1)  # (R1·R2, Cin/G), order (b, c)
        z = g.project_in(x, w_in)  # (B, G·R1·R2, H, W)
        k = torch.einsum("chd,dwa->achw", self.adapter_G3, self.adapter_G4)  # (R0, R2, kh, kw)
        # The same K for every bond index b (and group): a grouped conv with G·R1 groups.
        return g.spatial_conv(z, k.repeat(G * R, 1, 1, 1), groups=G * R)  # (B, G·R1·R0, H', W')

    def channel_scale(self, core):
        return _bond_scale(core, self.rank)

    def output_weight(self):
        return self.adapter_G1.permute(1, 2, 0).reshape(-1, self.rank**2)  # (Cout, R1·R0), order (b, a)

    def delta_weight_from_core(self, core):
        G1, G2, G3, G4 = self.adapter_G1, self.adapter_G2, self.adapter_G3, self.adapter_G4
        return torch.einsum("aob,bic,chd,dwa,na->noihw", G1, G2, G3, G4, core)

    def kernel_basis(self):
        R = self.rank
        k = torch.einsum("chd,dwa->achw", self.adapter_G3, self.adapter_G4)  # (R0, R2, kh, kw)
        m = torch.einsum("bic,achw->abihw", self.adapter_G2, k)  # (R0, R1, Cin/G, kh, kw)
        t = torch.bmm(self.adapter_G1, m.reshape(R, R, -1))  # (R0, Cout, Cin/G·kh·kw): Σ over bond b
        return t.view(R, -1, *m.shape[2:])
