"""The adapter wrapper that every method shares.

An adapter layer keeps the frozen original as ``base_layer`` (as PEFT does) and adds a low-rank
update computed in factored form::

    y = base_layer(x) + scaling · Δ(x),    scaling = alpha / rank

All adapter parameters are named ``adapter_*``: that prefix is how freezing, counting and saving
find them. MetaLoRA layers read their per-input core ("seed", shape (B, R)) from :attr:`seed`,
which :class:`~metalora.adapters.model.MetaLoRAModel` sets for the duration of one forward pass.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError

ADAPTER_PREFIX = "adapter_"


class AdapterLayer(nn.Module):
    """Base class: wraps one ``nn.Linear`` or ``nn.Conv2d``.

    Subclasses define ``method``, create their ``adapter_*`` parameters in ``reset_parameters`` and
    implement the factored update in three parts: :meth:`rank_features` maps the input to the small
    rank space (``(..., K)`` for a Linear, ``(B, G·K, H', W')`` for a conv), :meth:`channel_scale`
    says how the core scales those K channels, and :meth:`output_weight` is the (out, K) projection
    back. The base class adds the projection into the frozen output in one fused call (``addmm`` /
    ``baddbmm``), so the update never allocates an output-sized temporary. :meth:`delta_weight_from_core` gives the dense update, the reference
    for tests and analysis.
    """

    tensor_format: str = ""  # "lora", "cp" or "tr"; the method adds "meta-" when input-conditioned

    def __init__(
        self,
        base_layer: nn.Module,
        rank: int,
        alpha: float,
        dropout: float = 0.0,
        input_conditioned: bool = False,
    ):
        super().__init__()
        self.base_layer = base_layer
        self.rank = int(rank)
        self.alpha = float(alpha)
        self.scaling = self.alpha / self.rank
        self.input_conditioned = bool(input_conditioned)
        self.method = ("meta-" if self.input_conditioned else "") + self.tensor_format
        self.adapter_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.enabled = True
        self.seed: torch.Tensor | None = None  # (B, R), set by MetaLoRAModel for one forward pass
        self._factory = {"device": base_layer.weight.device, "dtype": base_layer.weight.dtype}

    # -- the core -------------------------------------------------------------------------------
    @property
    def core_size(self) -> int:
        """Length of the core (the seed) of this layer; 0 for LoRA, which has none."""
        return 0 if self.tensor_format == "lora" else self.rank

    def current_core(self) -> torch.Tensor | None:
        """The core used now: the generated seed (B, R), the learned static core (R,), or None."""
        if self.tensor_format == "lora":
            return None
        if not self.input_conditioned:
            return self.adapter_core
        if self.seed is None:
            raise ModelError(
                "This MetaLoRA layer was called without a seed.",
                "Call the MetaLoRAModel, not the wrapped base model, so that seeds are generated first.",
            )
        return self.seed

    def _make_static_core(self) -> None:
        if self.tensor_format != "lora" and not self.input_conditioned:
            self.adapter_core = nn.Parameter(torch.ones(self.rank, **self._factory))

    # -- forward --------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base_layer(x)
        if not self.enabled:
            return out
        z = self.rank_features(self.adapter_dropout(x))  # (..., K) or (B, G·K, H', W')
        scale = self.channel_scale(self.current_core())  # None, (K,) or (B, K)
        w = self.output_weight().to(z.dtype)  # (out, K)
        if scale is not None:
            scale = scale.to(z.dtype)
        if not isinstance(self.base_layer, nn.Conv2d):
            if scale is not None:
                z = z * seed_shape(scale, z.dim(), -1)
            acc = torch.addmm(
                out.reshape(-1, out.shape[-1]), z.reshape(-1, z.shape[-1]), w.t(), alpha=self.scaling
            )
            return acc.reshape(out.shape)
        b, c, h, wd = out.shape
        groups = self.base_layer.groups
        if groups == 1:
            # out += scaling · (w · diag(s_b)) @ z_b for every input b, in one batched matmul. The
            # per-input matrix is only (Cout, K): the seed folds into the projection, not the kernel.
            wb = w if scale is None else w * scale.unsqueeze(-2)  # (Cout, K) or (B, Cout, K)
            wb = wb.expand(b, -1, -1) if wb.dim() == 2 else wb
            acc = torch.baddbmm(out.reshape(b, c, h * wd), wb, z.reshape(b, -1, h * wd), alpha=self.scaling)
            return acc.reshape(out.shape)
        if scale is not None:  # the same rank-space scale in every group
            z = (z.reshape(b, groups, -1, h * wd) * seed_shape(scale, 4, 2)).reshape(z.shape)
        return torch.add(out, F.conv2d(z, w[:, :, None, None], groups=groups), alpha=self.scaling)

    def rank_features(self, x: torch.Tensor) -> torch.Tensor:
        """The input mapped into rank space, before the core: (..., K) or (B, G·K, H', W')."""
        raise NotImplementedError

    def channel_scale(self, core: torch.Tensor | None) -> torch.Tensor | None:
        """How the core scales each of the K rank-space channels; by default the core itself."""
        return core

    def output_weight(self) -> torch.Tensor:
        """The (out, K) projection from rank space back to the layer's output (within each group)."""
        raise NotImplementedError

    def delta_weight_from_core(self, core: torch.Tensor | None) -> torch.Tensor:
        """The dense unscaled update for a core (B, R): (B, *W0.shape); LoRA ignores the core (W0.shape)."""
        raise NotImplementedError

    def delta_weight(self, core: torch.Tensor | None = None) -> torch.Tensor:
        """The dense, scaled update ΔW: W0's shape for static methods, (B, *W0.shape) for a (B, R) core."""
        if core is None:
            core = self.current_core() if not self.input_conditioned else self.seed
            if self.input_conditioned and core is None:
                raise ModelError(
                    "A MetaLoRA layer's update depends on the input.",
                    "Pass inputs: model.delta_weight(name, x).",
                )
        if core is not None and core.dim() == 1:  # a static core: W0's shape
            return self.scaling * self.delta_weight_from_core(core[None])[0]
        return self.scaling * self.delta_weight_from_core(core)

    def adapter_parameters(self) -> int:
        return sum(p.numel() for n, p in self.named_parameters() if n.startswith(ADAPTER_PREFIX))

    def extra_repr(self) -> str:
        return f"method={self.method}, rank={self.rank}, scaling={self.scaling:g}"


def kaiming_(t: torch.Tensor) -> torch.Tensor:
    """LoRA's default for the input-side factor: kaiming uniform with a = sqrt(5)."""
    return nn.init.kaiming_uniform_(t, a=math.sqrt(5))


def seed_shape(core: torch.Tensor, ndim: int, channel_dim: int) -> torch.Tensor:
    """Broadcast a core (R,) or (B, R) against an activation of ``ndim`` dims with R at ``channel_dim``.

    (B, R) becomes (B, 1, ..., R, ..., 1) so that it multiplies every token or pixel of input b.
    """
    shape = [1] * ndim
    shape[channel_dim] = core.shape[-1]
    if core.dim() == 2:
        shape[0] = core.shape[0]
    return core.reshape(shape)


class ConvGeometry:
    """Everything about a base ``nn.Conv2d`` that the factored forward must honour exactly."""

    def __init__(self, conv: nn.Conv2d):
        self.in_channels = conv.in_channels
        self.out_channels = conv.out_channels
        self.groups = conv.groups
        self.kernel_size = tuple(conv.kernel_size)
        self.stride = tuple(conv.stride)
        self.dilation = tuple(conv.dilation)
        self.padding_mode = conv.padding_mode
        pad = list(conv._reversed_padding_repeated_twice)  # (left, right, top, bottom)
        symmetric = pad[0] == pad[1] and pad[2] == pad[3]
        # Zero padding that is symmetric goes straight into the conv call; anything else (reflect,
        # replicate, circular, or the asymmetric 'same' of even kernels) is an explicit F.pad first.
        if self.padding_mode == "zeros" and symmetric:
            self.explicit_pad = None
            self.conv_padding = (pad[2], pad[0])
        else:
            self.explicit_pad = tuple(pad)
            self.conv_padding = (0, 0)

    def pad(self, z: torch.Tensor) -> torch.Tensor:
        """Apply explicit padding, if any. Valid on any channel projection of the input (no bias)."""
        if self.explicit_pad is None or not any(self.explicit_pad):
            return z
        mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
        return F.pad(z, self.explicit_pad, mode=mode)

    def project_in(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """1×1 projection with ``w`` (K, Cin/G), the same in every group: (B, Cin, H, W) -> (B, G·K, H, W).

        Without groups it is one matmul whose (B, H·W, K) result is returned as a channels-last view:
        on CPU that is about 3× faster than a 1×1 ``conv2d``, and the small convs that follow run
        faster on channels-last input too.
        """
        if self.groups == 1:
            b, c, h, wd = x.shape
            z = torch.matmul(x.reshape(b, c, h * wd).transpose(1, 2), w.t())  # (B, H·W, K)
            return z.view(b, h, wd, -1).permute(0, 3, 1, 2)  # (B, K, H, W), channels-last memory
        return F.conv2d(x, w.repeat(self.groups, 1)[:, :, None, None], groups=self.groups)

    def spatial_conv(self, z: torch.Tensor, weight: torch.Tensor, groups: int) -> torch.Tensor:
        """The conv's spatial part (kernel, stride, padding, dilation) with another weight."""
        return F.conv2d(self.pad(z), weight, None, self.stride, self.conv_padding, self.dilation, groups)
