"""The settings of the dashboard's one-button demo, in one place for the app, the CLI and the benchmarks.

The small ResNet sample model on 4-domain digits (clean, inverted, rotated, mirrored), LoRA against
MetaLoRA (CP) at one budget of trainable parameters, MetaLoRA's scaling factors generated from statistics
of each image (:data:`DEMO_ADAPTER_KWARGS`). Copy :data:`DEMO_TRAIN_CONFIG` with ``dataclasses.replace``
before changing a field: it is shared.

Why these settings (measured over 3 seeds by ``python benchmarks/bench_demo.py``, with and without
``--method meta-tr --feature-source backbone``; the figures are in docs/results.md, "The dashboard's
demo"): with the paper's feature source, the frozen backbone's own features, MetaLoRA-TR beat LoRA but its
scaling factors hardly grouped the inputs by kind, so the clusters page contradicted the demo; MetaLoRA-CP
fed with image statistics is far more accurate and groups them. These shifts (inversion, rotation,
mirroring) are low-level: the statistics see them directly, while a backbone trained on clean digits was
never asked to tell them apart.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..data.spec import DataSpec
from .records import TrainConfig

if TYPE_CHECKING:
    from torch import nn

    from .methods import RankMatch

__all__ = [
    "DEMO_ADAPTER_KWARGS",
    "DEMO_DATA",
    "DEMO_METHOD",
    "DEMO_METHODS",
    "DEMO_MODEL",
    "DEMO_RANK",
    "DEMO_TRAIN_CONFIG",
    "demo_ranks",
]

DEMO_MODEL = "sample:resnet-mini-digits"
DEMO_DATA = DataSpec()
DEMO_METHOD = "meta-cp"
DEMO_METHODS = ("lora", "meta-cp")
"""The demo compares plain LoRA with MetaLoRA (CP)."""
DEMO_ADAPTER_KWARGS: MappingProxyType[str, Any] = MappingProxyType({"feature_source": "input-stats"})
"""Adapter settings of every demo run (:class:`~metalora.MetaLoRAConfig` fields; plain LoRA has no
mapping network, so they change nothing for it): the scaling factors come from each image's statistics."""
DEMO_RANK = 4
DEMO_TRAIN_CONFIG = TrainConfig(epochs=3, lr=2e-2, batch_size=64, seed=0)


def demo_ranks(
    base: nn.Module, methods: Sequence[str] = DEMO_METHODS, adapter: Mapping[str, Any] = DEMO_ADAPTER_KWARGS
) -> RankMatch:
    """The demo's ranks on ``base``, matched to one budget of trainable parameters: plain LoRA's count at
    :data:`DEMO_RANK` (:func:`~metalora.training.methods.match_ranks`), so every method of ``methods``
    (LoRA first) trains about as many parameters with the adapter settings ``adapter``. ``base`` is
    deep-copied, never changed.
    """
    from .methods import match_ranks, prepare

    def fresh() -> nn.Module:
        return copy.deepcopy(base)

    kwargs = dict(adapter)
    reference = methods[0]  # plain LoRA: the budget is what it trains at the demo's rank
    budget = sum(p.numel() for p in prepare(fresh(), reference, rank=DEMO_RANK, **kwargs)[1])
    return match_ranks(fresh, methods, budget, **kwargs)
