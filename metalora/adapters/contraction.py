"""How an adapter layer computes its output: the exact contractions, and the planner that picks one per layer.

Every contraction gives the dense per-input update's output and gradients (the tests hold each against
``W0 + ΔW(x)`` applied input by input); they differ only in cost, which depends on the layer's shape, the
device and the dtype. No single one is fastest everywhere, so each layer runs the one that is fastest where it
runs:

- ``factored``: the frozen layer, then the update in rank space: the input projected to the rank channels,
  the core, the projection back (accumulated into the frozen output in place). Never builds a kernel.
- ``composed`` (CP and Tensor-Ring convs): as ``factored``, but the projection to rank space and the spatial
  factors are one conv with their static composed kernel. Cheaper for 1×1 and strided convs and for narrow
  layers, where the rank channels outnumber the layer's.
- ``kernel``: the kernel ``W0 + (alpha/rank)·ΔW(x)`` is built for every input (once, for a static method)
  and the layer runs one conv, grouped over the batch, or one batched matmul: base and update together, with
  no rank-space intermediates. Its backward pays a weight gradient per input (the cost of a full fine-tune's
  weight gradient) and it stores the kernels, so it wins on narrow layers at large resolution, and it is the
  update that respects a depthwise conv's groups: a depthwise layer's kernels are as small as its weights,
  where ``factored`` multiplies its channels by R (LoRA, CP) or R² (Tensor Ring). Only offered for a plain
  ``nn.Conv2d`` / ``nn.Linear`` (a subclass may change its weight in ``forward``) and without adapter dropout
  in training, and only while the kernels fit the memory cap (:func:`kernel_fits`).

The planner (``MetaLoRAConfig(contraction="auto")``, the default) times the candidates the first time a layer
sees an input of a new shape, dtype or device, forward and backward in training and forward only under
``no_grad``, as ``torch.backends.cudnn.benchmark`` does, and keeps the fastest. Choices are cached in memory
and on disk (``$METALORA_CACHE_DIR/contractions.json``, by default ``~/.cache/metalora``), keyed by device,
dtype, the layer's geometry and the input shape, so a second run on the same machine does not time again.
With ``contraction="cost"``, or ``METALORA_CONTRACTION_TIMING=0`` in the environment, or while
``torch.compile`` traces, it uses the cost model of :func:`path_costs` instead; a path's name forces that path
wherever it is valid. The choice is shown in :meth:`MetaLoRAModel.layer_table`.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..config import CONTRACTION_MODES as MODES
from ..config import CONTRACTION_PATHS as PATHS
from ..errors import ConfigError

if TYPE_CHECKING:
    from .base import AdapterLayer

KERNEL_MEMORY_RATIO = 1.0
KERNEL_MEMORY_FLOOR = 2**20
"""The memory cap of MetaLoRA's ``kernel`` path: its per-input kernels may hold no more elements than the layer's
input (which a training step keeps for the backward anyway), or 2**20 elements (4 MiB in float32), whichever
is more."""

TIMING_REPEATS = 2
TIMING_SHORTLIST = 3.0
"""Only the paths the cost model puts within this factor of its cheapest are timed: the others (a depthwise
layer's factored Tensor-Ring update, 100× its per-input kernel) would cost seconds to time and never win."""
CACHE_VERSION = 1

# Cost-model weights: the time of one multiply-add in each kind of op, relative to one in a dense conv or
# matmul. Fitted on a 2-core CPU (benchmarks/bench_layers.py --contractions) and not measured on a GPU.
GROUPED_CONV_COST = 3.0
"""A depthwise or narrow grouped conv (the rank-space spatial convs)."""
PER_INPUT_CONV_COST = 1.5
"""A conv grouped over the batch with per-input kernels, at a large resolution (the penalty grows as the
resolution falls: :func:`path_costs`)."""


def check_mode(mode: object) -> str:
    if mode not in MODES:
        raise ConfigError(f"contraction={mode!r} is not a contraction.", f"Use one of {', '.join(MODES)}.")
    return str(mode)


def timing_enabled() -> bool:
    return os.environ.get("METALORA_CONTRACTION_TIMING", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )


# -- which paths a layer may take ----------------------------------------------------------------------
def _plain(base: nn.Module) -> bool:
    """Whether the base layer computes exactly F.conv2d / F.linear with its weight (no subclass forward)."""
    if isinstance(base, nn.Conv2d):
        cls = type(base)
        return cls.forward is nn.Conv2d.forward and cls._conv_forward is nn.Conv2d._conv_forward
    return isinstance(base, nn.Linear) and type(base).forward is nn.Linear.forward


def kernel_elements(layer: AdapterLayer, batch: int) -> int:
    """Elements of the kernels the ``kernel`` path builds: one per input for MetaLoRA, one for a static method."""
    n = layer.base_layer.weight.numel()
    return n * batch if layer.input_conditioned else n


def kernel_fits(layer: AdapterLayer, x: torch.Tensor, batch: int) -> bool:
    """The memory cap (:data:`KERNEL_MEMORY_RATIO`); a static method's one merged kernel, the size of the
    weight the model holds anyway, always fits."""
    return not layer.input_conditioned or kernel_elements(layer, batch) <= max(
        KERNEL_MEMORY_RATIO * x.numel(), KERNEL_MEMORY_FLOOR
    )


def candidates(layer: AdapterLayer, x: torch.Tensor, batch: int) -> tuple[str, ...]:
    """The paths this layer can take for this input, ``factored`` first."""
    paths = [p for p in layer.paths if p != "kernel"]
    dropout = not isinstance(layer.adapter_dropout, nn.Identity) and layer.training
    if "kernel" in layer.paths and _plain(layer.base_layer) and not dropout and kernel_fits(layer, x, batch):
        paths.append("kernel")
    return tuple(paths)


# -- the cost model ------------------------------------------------------------------------------------
def path_costs(layer: AdapterLayer, shape: tuple[int, ...], batch: int, train: bool) -> dict[str, float]:
    """Estimated time of each path of ``layer`` for an input of ``shape``, in dense multiply-adds.

    A training step runs the forward, the input's gradient and, for what is trained, the weights' gradient
    (3 passes; the frozen layer 2); inference the forward only. ``kernel`` pays its conv or matmul 3 times
    in training, and building the kernels (B·R·|W0| for MetaLoRA).
    """
    base = layer.base_layer
    passes, frozen = (3.0, 2.0) if train else (1.0, 1.0)
    r, fmt = layer.rank, layer.tensor_format
    n_in = layer.base_layer.weight.numel()
    if isinstance(base, nn.Conv2d):
        g = layer.geometry
        G = g.groups
        c, o = g.in_channels // G, g.out_channels // G
        kh, kw = g.kernel_size
        k = kh * kw
        h, w = shape[-2], shape[-1]
        ho, wo = _conv_out(h, g, 0), _conv_out(w, g, 1)
        p, pin = batch * ho * wo * G, batch * h * w * G  # output / input pixels, times groups
        base_cost = p * o * c * k
        update = {
            "lora": {"factored": p * r * c * k + p * o * r},
            "cp": {
                "factored": pin * r * c + GROUPED_CONV_COST * p * r * k + p * o * r,
                "composed": p * r * c * k + p * o * r,
            },
            "tr": {
                "factored": pin * r * r * c + GROUPED_CONV_COST * p * r**3 * k + p * o * r * r,
                "composed": p * r * r * c * k + p * o * r * r,
            },
        }[fmt]
        costs = {path: frozen * base_cost + passes * u for path, u in update.items()}
        # A conv grouped over the batch runs many small convs: less efficient the fewer the pixels per kernel.
        penalty = PER_INPUT_CONV_COST * max(1.0, 256.0 / (ho * wo)) if layer.input_conditioned else 1.0
        if G > 1 and c * o < 64:  # depthwise-like: memory-bound in every path alike
            penalty = GROUPED_CONV_COST
        dense = base_cost * (penalty if c * o >= 64 else 1.0)
    else:
        rows = max(1, int(torch.Size(shape).numel() // max(shape[-1], 1)))
        c, o = base.in_features, base.out_features
        base_cost = rows * c * o
        width = r * r if fmt == "tr" else r
        costs = {"factored": frozen * base_cost + passes * rows * width * (c + o)}
        dense = base_cost * (PER_INPUT_CONV_COST if layer.input_conditioned else 1.0)
    build = (batch * r * n_in if layer.input_conditioned else 0) + (r * r if fmt == "tr" else r) * n_in
    costs["kernel"] = passes * (dense + build)
    return {path: float(cost) for path, cost in costs.items() if path in layer.paths}


def _conv_out(size: int, g, dim: int) -> int:
    pad = (
        sum(g.explicit_pad[2 * (1 - dim) : 2 * (1 - dim) + 2]) if g.explicit_pad else 2 * g.conv_padding[dim]
    )
    span = g.dilation[dim] * (g.kernel_size[dim] - 1) + 1
    return max(1, (size + pad - span) // g.stride[dim] + 1)


def cost_choice(layer: AdapterLayer, x: torch.Tensor, batch: int, train: bool) -> str:
    allowed = candidates(layer, x, batch)
    costs = path_costs(layer, tuple(x.shape), batch, train)
    return min(allowed, key=lambda p: costs.get(p, float("inf")))


# -- timing --------------------------------------------------------------------------------------------
def time_paths(layer: AdapterLayer, x: torch.Tensor, batch: int, paths, train: bool) -> dict[str, float]:
    """Seconds of each path on this input: forward and backward in training, forward only otherwise.

    Runs on detached copies, so nothing reaches the real graph or any ``.grad``. The best of
    :data:`TIMING_REPEATS` runs after one warm-up.
    """
    cuda = x.device.type == "cuda"
    saved = layer.input_scaling
    x0 = x.detach()
    params = [p for n, p in layer.named_parameters() if n.startswith("adapter_") and p.requires_grad]
    results: dict[str, float] = {}
    try:
        if saved is not None:
            layer.input_scaling = saved.detach().requires_grad_(train)
        for path in paths:
            best = float("inf")
            for i in range(TIMING_REPEATS + 1):
                xi = x0.detach().requires_grad_(train and x.requires_grad)
                if cuda:
                    torch.cuda.synchronize(x.device)
                start = time.perf_counter()
                with torch.set_grad_enabled(train):
                    out = layer._run(path, xi, batch)
                    inputs = [
                        t for t in (xi, layer.input_scaling, *params) if t is not None and t.requires_grad
                    ]
                    if train and inputs:
                        torch.autograd.grad(out, inputs, torch.ones_like(out), allow_unused=True)
                if cuda:
                    torch.cuda.synchronize(x.device)
                if i:
                    best = min(best, time.perf_counter() - start)
                del out
            results[path] = best
    finally:
        layer.input_scaling = saved
    return results


# -- the disk cache ------------------------------------------------------------------------------------
_lock = threading.Lock()
_memory: dict[str, str] | None = None


def cache_path() -> Path:
    root = os.environ.get("METALORA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "metalora"
    )
    return Path(root) / "contractions.json"


def _read_cache() -> dict[str, str]:
    try:
        data = json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return {}  # none yet, unreadable or corrupt: timed again and rewritten
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    plans = data.get("plans")
    return {k: v for k, v in plans.items() if v in PATHS} if isinstance(plans, dict) else {}


def cached(key: str) -> str | None:
    global _memory
    with _lock:
        if _memory is None:
            _memory = _read_cache()
        return _memory.get(key)


def remember(key: str, path: str) -> None:
    """Record a timed choice, in memory and on disk (written whole to a temporary file, then renamed)."""
    global _memory
    with _lock:
        if _memory is None:
            _memory = _read_cache()
        _memory[key] = path
        merged = {**_read_cache(), **_memory}
        target = cache_path()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".contractions-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump({"version": CACHE_VERSION, "plans": merged}, f, indent=0, sort_keys=True)
            os.replace(tmp, target)
        except OSError:
            pass  # a read-only home: the choice still holds for this process


def forget_cache() -> None:
    """Drop the in-memory copy of the disk cache (tests; after the cache folder changes)."""
    global _memory
    with _lock:
        _memory = None


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"{device.type}:{torch.get_num_threads()} threads"


def plan_key(layer: AdapterLayer, x: torch.Tensor, batch: int, train: bool) -> str:
    """What a timed choice depends on: device, dtype, torch version, the layer, the input, training or not."""
    base = layer.base_layer
    if isinstance(base, nn.Conv2d):
        geometry = (base.stride, base.padding, base.dilation, base.groups, base.padding_mode)
        layout = "cl" if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) else "c"
    else:
        geometry, layout = (), "c"
    parts = (
        device_name(x.device),
        str(x.dtype),
        torch.__version__,
        type(layer).__name__,
        layer.method,
        layer.rank,
        tuple(base.weight.shape),
        geometry,
        tuple(x.shape),
        batch,
        layout,
        "train" if train else "infer",
        torch.is_autocast_enabled(),
    )
    return "|".join(map(str, parts))


def choose(layer: AdapterLayer, x: torch.Tensor, batch: int) -> tuple[str, str]:
    """(path, how it was chosen: forced / cached / timed / cost) for this call of ``layer``."""
    train = torch.is_grad_enabled() and any(p.requires_grad for p in layer.parameters())
    allowed = candidates(layer, x, batch)
    mode = layer.contraction
    if mode in PATHS:
        if mode in allowed:
            return mode, "forced"
        return cost_choice(layer, x, batch, train), "cost"
    if len(allowed) == 1:
        return allowed[0], "only"
    if mode == "cost" or not timing_enabled() or torch.compiler.is_compiling():
        return cost_choice(layer, x, batch, train), "cost"
    key = plan_key(layer, x, batch, train)
    hit = cached(key)
    if hit in allowed:
        return hit, "cached"
    costs = path_costs(layer, tuple(x.shape), batch, train)
    cheapest = min(costs[p] for p in allowed)
    shortlist = [p for p in allowed if costs[p] <= TIMING_SHORTLIST * cheapest]
    if len(shortlist) == 1:
        return shortlist[0], "cost"
    seconds = time_paths(layer, x, batch, shortlist, train)
    path = min(seconds, key=seconds.__getitem__)
    remember(key, path)
    return path, "timed"
