"""The adapter wrapper that every method shares.

An adapter layer keeps the frozen original as ``base_layer`` (as PEFT does) and adds a low-rank
update computed in factored form::

    y = base_layer(x) + update_scale · Δ(x),    update_scale = alpha / rank

All adapter parameters are named ``adapter_*``: that prefix is how freezing, counting and saving
find them. MetaLoRA layers read their per-input core (the scaling factors, shape (B, R)) from
:attr:`input_scaling`, which :class:`~metalora.adapters.model.MetaLoRAModel` sets for the duration of one
forward pass. Attributes the wrapper does not have (``weight``, ``bias``, ``in_features``,
``out_channels``, ...) are read from the base layer, as PEFT's wrappers do, so code that reads
``model.conv.weight.device`` runs unchanged on an adapted model.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError
from .contraction import check_mode, choose

ADAPTER_PREFIX = "adapter_"


class AdapterLayer(nn.Module):
    """Base class: wraps one ``nn.Linear`` or ``nn.Conv2d``.

    Subclasses set ``tensor_format``, create their ``adapter_*`` parameters in :meth:`_build_factors`,
    initialise them in :meth:`reset_parameters` (the constructor calls both) and implement the factored
    update in three parts: :meth:`rank_features` maps the input to the small
    rank space (``(..., K)`` for a Linear, ``(B, G·K, H', W')`` for a conv), :meth:`channel_scale`
    says how the core scales those K channels, and :meth:`output_weight` is the (out, K) projection
    back. The base class adds the projection into the frozen output in one fused call (``addmm`` /
    ``baddbmm``), so the update never allocates an output-sized temporary. :meth:`delta_weight_from_core` gives the dense update, the reference
    for tests and analysis.

    That is the ``factored`` contraction. :meth:`kernel_basis` gives what the ``kernel`` contraction needs
    (base and update in one conv or batched matmul with ``W0 + ΔW(x)``); which one a call runs is chosen
    per layer by :mod:`~metalora.adapters.contraction` (``contraction``: ``"auto"``, ``"cost"`` or a path).
    """

    tensor_format: str = ""  # "lora", "cp" or "tr"; the method adds "meta-" when input-conditioned
    paths: tuple[str, ...] = ("factored", "kernel")  # the exact contractions this layer can run

    def __init__(
        self,
        base_layer: nn.Module,
        rank: int,
        alpha: float,
        dropout: float = 0.0,
        input_conditioned: bool = False,
        contraction: str = "auto",
    ):
        super().__init__()
        self.base_layer = base_layer
        self.rank = int(rank)
        self.alpha = float(alpha)
        self.update_scale = self.alpha / self.rank
        self.input_conditioned = bool(input_conditioned)
        self.method = ("meta-" if self.input_conditioned else "") + self.tensor_format
        self.adapter_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.enabled = True
        self.input_scaling: torch.Tensor | None = None  # (B, R), set by MetaLoRAModel for one forward pass
        self.contraction = check_mode(contraction)  # requested: "auto", "cost" or a path
        self.last_contraction: tuple[str, str] | None = None  # (path, how chosen) of the latest call
        self.chosen: dict[str, str] = {}  # {"train" / "infer": the path of the latest such call}
        self._plans: dict[tuple, tuple[str, str]] = {}
        self._factory = {"device": base_layer.weight.device, "dtype": base_layer.weight.dtype}
        self._build_factors()
        self._make_static_core()
        self.reset_parameters()

    def _build_factors(self) -> None:
        """Create the ``adapter_*`` factor parameters (shapes only; :meth:`reset_parameters` fills them)."""
        raise NotImplementedError

    def reset_parameters(self) -> None:
        """Initialise the factors so that ΔW = 0 (the output-side factor is zero)."""
        raise NotImplementedError

    def __getattr__(self, name: str):
        """Fall back to the base layer for attributes the wrapper lacks (``weight``, ``in_features``...)."""
        try:
            return super().__getattr__(name)
        except AttributeError:
            base = self.__dict__.get("_modules", {}).get("base_layer")
            if base is None or name.startswith(ADAPTER_PREFIX):
                raise
            return getattr(base, name)

    # -- the core -------------------------------------------------------------------------------
    @property
    def core_size(self) -> int:
        """Length of the core (the scaling factors) of this layer; 0 for LoRA, which has none."""
        return 0 if self.tensor_format == "lora" else self.rank

    def current_core(self) -> torch.Tensor | None:
        """The core used now: the generated scaling factors (B, R), the learned static core (R,), or None."""
        if self.tensor_format == "lora":
            return None
        if not self.input_conditioned:
            return self.adapter_core
        if self.input_scaling is None:
            raise ModelError(
                "This MetaLoRA layer was called without scaling factors.",
                "Call the MetaLoRAModel, not the wrapped base model, so that the scaling factors are "
                "generated first.",
            )
        return self.input_scaling

    def _make_static_core(self) -> None:
        if self.tensor_format != "lora" and not self.input_conditioned:
            self.adapter_core = nn.Parameter(torch.ones(self.rank, **self._factory))

    # -- forward --------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        linear = not isinstance(self.base_layer, nn.Conv2d)
        if linear and x.dim() > 2 and self.enabled:
            # Tokens flattened: a Linear's output for a matrix is a plain matrix (not a view), which
            # the update can go into in place.
            lead = x.shape[:-1]
            return self._forward(x.reshape(-1, x.shape[-1]), lead[0]).view(*lead, -1)
        return self._forward(x, x.shape[0] if x.dim() > 1 else 1)

    def _forward(self, x: torch.Tensor, batch: int) -> torch.Tensor:
        if not self.enabled:
            return self.base_layer(x)
        return self._run(self._plan(x, batch), x, batch)

    def _plan(self, x: torch.Tensor, batch: int) -> str:
        """The contraction for this call: planned once per input shape, dtype, device and mode."""
        layout = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
        key = (
            tuple(x.shape), x.dtype, x.device, layout, torch.is_grad_enabled(), self.training, self.contraction
        )  # fmt: skip
        plan = self._plans.get(key)
        if plan is None:
            plan = choose(self, x, batch)
            if not torch.compiler.is_compiling():
                self._plans[key] = plan
        self.last_contraction = plan
        self.chosen["train" if torch.is_grad_enabled() and self.training else "infer"] = plan[0]
        return plan[0]

    def _run(self, path: str, x: torch.Tensor, batch: int) -> torch.Tensor:
        """This layer's output through one contraction (every one is exact)."""
        if path == "kernel":
            return self._kernel_forward(x, batch)
        return self._factored_forward(x, batch, composed=path == "composed")

    def _factored_forward(self, x: torch.Tensor, batch: int, composed: bool = False) -> torch.Tensor:
        out = self.base_layer(x)
        z = self.rank_features(self.adapter_dropout(x), composed)  # (N, K) or (B, G·K, H', W')
        scale = self.channel_scale(self.current_core())  # None, (K,) or (B, K)
        # The update scale goes into the small (out, K) projection rather than the big product, and the
        # product accumulates in place into the base output (which no backward needs), so the update
        # allocates no output-sized temporary in the forward nor an extra scaled copy in the backward.
        w = self.update_scale * self.output_weight().to(out.dtype)  # (out, K)
        z = z.to(out.dtype)
        if scale is not None:
            scale = scale.to(out.dtype)
        if not isinstance(self.base_layer, nn.Conv2d):
            if scale is not None and scale.dim() == 2:  # (B, K): input b's scale on each of its tokens
                z = (z.reshape(batch, -1, z.shape[-1]) * scale[:, None, :]).reshape(z.shape)
            elif scale is not None:
                z = z * scale
            return _AccumulateLinear.apply(out, w, z)
        b, _, h, wd = out.shape
        groups = self.base_layer.groups
        if groups == 1:
            # out += (w · diag(s_b)) @ z_b for every input b, in one batched matmul. The per-input
            # matrix is only (Cout, K): the scaling factors fold into the projection, not the kernel.
            wb = w if scale is None else w * scale.unsqueeze(-2)  # (Cout, K) or (B, Cout, K)
            return _AccumulateProjection.apply(out, wb, z)
        if scale is not None:  # the same rank-space scale in every group
            z = (z.reshape(b, groups, -1, h * wd) * core_broadcast(scale, 4, 2)).reshape(z.shape)
        return out.add_(F.conv2d(z, w[:, :, None, None], groups=groups))

    def rank_features(self, x: torch.Tensor, composed: bool = False) -> torch.Tensor:
        """The input mapped into rank space, before the core: (..., K) or (B, G·K, H', W').

        ``composed``: with the input projection and the spatial factors as one conv (``paths`` says whether
        the layer has that contraction; the others ignore the flag)."""
        raise NotImplementedError

    # -- the kernel contraction -----------------------------------------------------------------
    def kernel_basis(self) -> torch.Tensor:
        """ΔW as a function of the core: (R, *W0.shape) with ΔW = Σ_r core_r · basis_r (CP, TR), or the
        static ΔW itself (W0.shape) for LoRA. Unscaled."""
        raise NotImplementedError

    def kernel_weight(self, core: torch.Tensor | None) -> torch.Tensor:
        """W0 + update_scale · ΔW: W0's shape, or (B, *W0.shape) for a per-input core (B, R)."""
        w0 = self.base_layer.weight
        basis = self.kernel_basis().to(w0.dtype)
        if core is None:
            return w0 + self.update_scale * basis
        flat = basis.reshape(basis.shape[0], -1)
        core = core.to(w0.dtype)
        if core.dim() == 1:
            return torch.addmv(w0.reshape(-1), flat.t(), core, alpha=self.update_scale).view_as(w0)
        return torch.addmm(w0.reshape(1, -1), core, flat, alpha=self.update_scale).view(-1, *w0.shape)

    def _kernel_forward(self, x: torch.Tensor, batch: int) -> torch.Tensor:
        base = self.base_layer
        w = self.kernel_weight(self.current_core())
        bias = base.bias
        if isinstance(base, nn.Conv2d):
            g = self.geometry
            xp = g.pad(x)
            if w.dim() == 4:
                return F.conv2d(xp, w, bias, g.stride, g.conv_padding, g.dilation, g.groups)
            n = x.shape[0]
            y = F.conv2d(
                xp.reshape(1, -1, *xp.shape[2:]),
                w.reshape(-1, *w.shape[2:]),
                None if bias is None else bias.repeat(n),
                g.stride,
                g.conv_padding,
                g.dilation,
                n * g.groups,
            )
            return y.view(n, -1, *y.shape[2:])
        if w.dim() == 2:
            return F.linear(x, w, bias)
        x3 = x.reshape(batch, -1, x.shape[-1])  # (B, tokens, in): input b's kernel on each of its tokens
        wt = w.transpose(1, 2)
        y = torch.bmm(x3, wt) if bias is None else torch.baddbmm(bias.view(1, 1, -1), x3, wt)
        return y.reshape(*x.shape[:-1], -1)

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
            core = self.current_core() if not self.input_conditioned else self.input_scaling
            if self.input_conditioned and core is None:
                raise ModelError(
                    "A MetaLoRA layer's update depends on the input.",
                    "Pass inputs: model.delta_weight(name, x).",
                )
        if core is not None and core.dim() == 1:  # a static core: W0's shape
            return self.update_scale * self.delta_weight_from_core(core[None])[0]
        return self.update_scale * self.delta_weight_from_core(core)

    def adapter_parameters(self) -> int:
        return sum(p.numel() for n, p in self.named_parameters() if n.startswith(ADAPTER_PREFIX))

    def extra_repr(self) -> str:
        return f"method={self.method}, rank={self.rank}, update_scale={self.update_scale:g}"


def _writable(out: torch.Tensor) -> bool:
    """Whether the update can go in place into ``out``: contiguous, and not a view (F.linear on a 3-D
    input returns one; autograd would then copy the whole gradient back through the view's base)."""
    return out.is_contiguous() and out._base is None


class _AccumulateLinear(torch.autograd.Function):
    """``out += z @ wᵀ`` in place in the Linear output ``out`` (..., out), for ``z`` (..., K) and ``w`` (out, K).

    Autograd's ``addmm`` would copy ``out`` in the forward, or, in place on a reshaped view, copy its
    gradient in the backward; here ``out``'s gradient passes through untouched, and the copy is made
    only when ``out`` is itself a view.
    """

    @staticmethod
    def forward(ctx, out, w, z):
        z2 = z.reshape(-1, z.shape[-1])
        ctx.save_for_backward(w, z2)
        ctx.z_shape = z.shape
        if _writable(out):
            ctx.mark_dirty(out)
            out.view(-1, out.shape[-1]).addmm_(z2, w.t())
            return out
        return torch.addmm(out.reshape(-1, out.shape[-1]), z2, w.t()).view(out.shape)

    @staticmethod
    def backward(ctx, grad):
        w, z2 = ctx.saved_tensors
        g2 = grad.reshape(-1, grad.shape[-1])
        grad_w = g2.t().mm(z2) if ctx.needs_input_grad[1] else None
        grad_z = g2.mm(w).reshape(ctx.z_shape) if ctx.needs_input_grad[2] else None
        return grad, grad_w, grad_z


class _AccumulateProjection(torch.autograd.Function):
    """``out[b] += w_b @ z[b]`` over pixels, in place in the conv output ``out`` (B, Cout, H, W).

    ``w`` is (Cout, K) or per input (B, Cout, K); ``z`` is (B, K, H, W) in either memory format. Autograd's
    own ``baddbmm`` would copy ``out`` in the forward (or, in place on a view, copy its gradient in the
    backward), and would return z's gradient contiguous even when z is channels-last, which makes the conv
    that produced z copy it again. This does neither: ``out``'s gradient passes through untouched, and
    z's gradient comes back in z's own memory format.
    """

    @staticmethod
    def forward(ctx, out, w, z):
        b, c, h, wd = out.shape
        z3 = z.reshape(b, -1, h * wd)
        ctx.save_for_backward(w, z3)
        ctx.z_shape = z.shape
        wb = w.expand(b, -1, -1) if w.dim() == 2 else w
        if _writable(out):
            ctx.mark_dirty(out)
            out.view(b, c, h * wd).baddbmm_(wb, z3)
            return out
        return torch.baddbmm(out.reshape(b, c, h * wd), wb, z3).view(out.shape)

    @staticmethod
    def backward(ctx, grad):
        w, z3 = ctx.saved_tensors
        b = z3.shape[0]
        g3 = grad.reshape(b, grad.shape[1], -1)  # (B, Cout, H·W)
        wb = w.expand(b, -1, -1) if w.dim() == 2 else w
        grad_w = grad_z = None
        if ctx.needs_input_grad[1]:
            grad_w = torch.bmm(g3, z3.transpose(1, 2))  # (B, Cout, K)
            grad_w = grad_w.sum(0) if w.dim() == 2 else grad_w
        if ctx.needs_input_grad[2]:
            if z3.stride(1) == 1:  # channels-last z: a channels-last gradient, (B, H·W, K) in memory
                grad_z = torch.bmm(g3.transpose(1, 2), wb).transpose(1, 2)
            else:
                grad_z = torch.bmm(wb.transpose(1, 2), g3)
            grad_z = grad_z.reshape(ctx.z_shape)
        return grad, grad_w, grad_z


def kaiming_(t: torch.Tensor) -> torch.Tensor:
    """LoRA's default for the input-side factor: kaiming uniform with a = sqrt(5)."""
    return nn.init.kaiming_uniform_(t, a=math.sqrt(5))


def core_broadcast(core: torch.Tensor, ndim: int, channel_dim: int) -> torch.Tensor:
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

        Without groups it is one batched matmul whose (B, H·W, K) result is returned as a channels-last
        view: on CPU that is about 3× faster than a 1×1 ``conv2d``, and the small convs that follow run
        faster on channels-last input too. (``bmm`` with an expanded ``w`` rather than ``matmul``: the
        latter folds the transposed input into one matrix, which costs a copy in the backward.)
        """
        if self.groups == 1:
            b, c, h, wd = x.shape
            z = torch.bmm(x.reshape(b, c, h * wd).transpose(1, 2), w.t().expand(b, -1, -1))  # (B, H·W, K)
            return z.view(b, h, wd, -1).permute(0, 3, 1, 2)  # (B, K, H, W), channels-last memory
        return F.conv2d(x, w.repeat(self.groups, 1)[:, :, None, None], groups=self.groups)

    def spatial_conv(self, z: torch.Tensor, weight: torch.Tensor, groups: int) -> torch.Tensor:
        """The conv's spatial part (kernel, stride, padding, dilation) with another weight."""
        return F.conv2d(self.pad(z), weight, None, self.stride, self.conv_padding, self.dilation, groups)
