"""The settings of the dashboard's one-button demo, in one place for the app, the CLI and the benchmarks.

The small ResNet sample model on 4-domain digits (clean, inverted, rotated, mirrored), LoRA against
MetaLoRA (Tensor Ring). Copy :data:`DEMO_TRAIN_CONFIG` with ``dataclasses.replace`` before changing a
field: it is shared.
"""

from __future__ import annotations

from ..data.spec import DataSpec
from .records import TrainConfig

__all__ = ["DEMO_DATA", "DEMO_METHOD", "DEMO_METHODS", "DEMO_MODEL", "DEMO_RANK", "DEMO_TRAIN_CONFIG"]

DEMO_MODEL = "sample:resnet-mini-digits"
DEMO_DATA = DataSpec()
DEMO_METHOD = "meta-tr"
DEMO_METHODS = ("lora", "meta-tr")
"""The demo compares plain LoRA with MetaLoRA (Tensor Ring)."""
DEMO_RANK = 4
DEMO_TRAIN_CONFIG = TrainConfig(epochs=3, lr=2e-2, batch_size=64, seed=0)
