"""The weight updates ΔW of an adapted model, stacked over inputs, and their rank sweeps.

For a MetaLoRA layer the update depends on the input, so the object to look at is the stack
``ΔW(x_1), ..., ΔW(x_N)``: a tensor (N, Cout, Cin, kh, kw) for a conv, (N, out, in) for a Linear. Its
ranks say how much of the adapter's rank budget the inputs really use. For static methods (LoRA, CP,
TR) it is the single ΔW. The scaling factors come from a :class:`~metalora.analysis.scaling.ScalingTable`,
so no extra forward pass is needed: ``AdapterLayer.delta_weight(factors)`` builds the dense updates.

Reshaping (so decompositions stay fast and meaningful): the two kernel modes kh, kw are merged into
one "kernel" mode, and modes of size 1 (a 1×1 kernel, one input channel) are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import ConfigError, bullet_list
from ._common import subsample
from .ranks import DEFAULT_TOL, METHODS, RankSweep, rank_sweep
from .scaling import ScalingTable

__all__ = ["analysis_view", "layer_rank_sweep", "model_rank_sweeps", "update_tensor"]

DEFAULT_INPUTS = 64


def _adapter(model, layer: str):
    layers = model.adapted_layers()
    if layer not in layers:
        raise ConfigError(f"{layer!r} is not an adapted layer.", f"Adapted layers: {bullet_list(layers)}.")
    return layers[layer]


@torch.no_grad()
def update_tensor(
    model, layer: str, table: ScalingTable | None = None, n_inputs: int = DEFAULT_INPUTS, seed: int = 0
) -> tuple[np.ndarray, list[str]]:
    """The dense update of ``layer`` (float64) and the names of its modes.

    MetaLoRA methods: the stack over a random subset of ``n_inputs`` rows of ``table`` (same ``seed``,
    same subset), shape (N, *W0.shape). Static methods: ΔW itself (``table`` is not needed).
    """
    adapter = _adapter(model, layer)
    w_shape = tuple(adapter.base_layer.weight.shape)
    names = ["out channels", "in channels", "kernel height", "kernel width"][: len(w_shape)]
    if len(w_shape) == 2:
        names = ["outputs", "inputs"]
    if not adapter.input_conditioned:
        return adapter.delta_weight().double().cpu().numpy(), names
    if table is None:
        raise ConfigError(
            f"MetaLoRA's update of {layer!r} depends on the input.",
            "Collect the scaling factors first: table = collect_scaling(model, data), then pass table=table.",
        )
    rows = subsample(len(table), n_inputs, seed)
    param = next(adapter.parameters())
    core = torch.as_tensor(table.check_layer(layer)[rows], dtype=param.dtype, device=param.device)
    return adapter.delta_weight(core).double().cpu().numpy(), ["inputs", *names]  # (N, *W0)


def analysis_view(tensor: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Merge the kernel modes (kh, kw) into one and drop modes of size 1."""
    labels = list(labels)
    if labels[-2:] == ["kernel height", "kernel width"]:
        kh, kw = tensor.shape[-2:]
        tensor = tensor.reshape(*tensor.shape[:-2], kh * kw)
        labels = [*labels[:-2], f"kernel ({kh}×{kw})"]
    keep = [k for k, d in enumerate(tensor.shape) if d > 1]
    if len(keep) < 2:  # a vector or a scalar: keep two modes so there is a matrix to decompose
        keep = sorted(range(tensor.ndim), key=lambda k: -tensor.shape[k])[:2]
        keep.sort()
    return tensor.reshape([tensor.shape[k] for k in keep]), [labels[k] for k in keep]


def layer_rank_sweep(
    model,
    layer: str,
    table: ScalingTable | None = None,
    *,
    n_inputs: int = DEFAULT_INPUTS,
    ranks: Sequence[int] | None = None,
    methods: Sequence[str] = METHODS,
    tol: float = DEFAULT_TOL,
    n_iter_max: int = 10,
    tr_als_iter: int = 5,
    als_max_entries: int | None = 100_000,
    seed: int = 0,
) -> RankSweep:
    """Rank sweep (CP / Tucker / TR, relative error vs rank) of one layer's update.

    ``ranks`` defaults to 1..R, the layer's adapter rank: does the update need its whole budget?
    TR-ALS is skipped for compressed stacks over ``als_max_entries`` entries (wide 3×3 convs), which
    keeps one layer to a few seconds; pass ``als_max_entries=None`` to refine those too (slow). See
    :func:`~metalora.analysis.ranks.rank_sweep` for the other arguments.
    """
    adapter = _adapter(model, layer)
    x, labels = analysis_view(*update_tensor(model, layer, table, n_inputs, seed))
    ranks = list(range(1, adapter.rank + 1)) if ranks is None else ranks
    return rank_sweep(
        x,
        ranks,
        methods,
        tol=tol,
        n_iter_max=n_iter_max,
        tr_als_iter=tr_als_iter,
        als_max_entries=als_max_entries,
        random_state=seed,
        name=layer,
        mode_labels=labels,
    )


def model_rank_sweeps(
    model, table: ScalingTable | None = None, layers: Sequence[str] | None = None, **kwargs
) -> dict[str, RankSweep]:
    """:func:`layer_rank_sweep` for every adapted layer (or ``layers``), in the model's order."""
    names = list(model.adapted_layers()) if layers is None else list(layers)
    return {n: layer_rank_sweep(model, n, table, **kwargs) for n in names}
