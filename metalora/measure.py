"""Counting what a model costs: FLOPs of a forward pass and parameters (the one place for both).

A leaf module (torch only), so training records a run's cost and analysis reports it with the same
counter.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["count_flops", "count_parameters"]


@torch.no_grad()
def count_flops(module: nn.Module, x: torch.Tensor, *args, **kwargs) -> int:
    """FLOPs of one forward pass of ``module`` on the batch ``x``, as torch's ``FlopCounterMode`` counts
    them (matrix products and convolutions, 2 per multiply-add), in eval mode. A MetaLoRA model's forward
    includes its feature pass."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = module.training
    module.eval()
    try:
        with FlopCounterMode(display=False) as counter:
            module(x, *args, **kwargs)
    finally:
        module.train(was_training)
    return int(counter.get_total_flops())


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts of any module."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
