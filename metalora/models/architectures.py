"""Named backbone architectures: ``build_model("resnet-mini", in_channels=1)``.

A registry (rather than importing classes) lets a model card store just a name and a dict of
keyword arguments, so a checkpoint can be rebuilt from JSON without unpickling anything, and lets
the dashboard list the choices.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..errors import ConfigError, bullet_list, lookup
from .mixer import MlpMixer
from .resnet import ResNet
from .vit import VisionTransformer


@dataclass(frozen=True)
class ArchSpec:
    """One registered architecture: how to build it and with which default keyword arguments."""

    name: str
    builder: Callable[..., nn.Module]
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    head: str = "fc"  # attribute name of the classifier (the last registered nn.Linear)

    def accepted_kwargs(self) -> list[str]:
        """Names of the keyword arguments the builder accepts."""
        return [p for p in inspect.signature(self.builder).parameters if p != "self"]


_REGISTRY: dict[str, ArchSpec] = {}


def register_architecture(spec: ArchSpec) -> None:
    """Add ``spec`` to the registry (replacing an entry of the same name)."""
    _REGISTRY[spec.name] = spec


register_architecture(
    ArchSpec(
        "resnet-mini",
        ResNet,
        dict(in_channels=3, num_classes=10, widths=(16, 32, 64), blocks_per_stage=1, mean=0.5, std=0.5),
        "CIFAR-style ResNet, 3 stages of 1 BasicBlock (16/32/64 channels), ~78k parameters.",
        head="fc",
    )
)
register_architecture(
    ArchSpec(
        "mixer-mini",
        MlpMixer,
        dict(
            in_channels=3,
            image_size=32,
            patch_size=4,
            dim=64,
            depth=4,
            token_hidden=64,
            channel_hidden=128,
            num_classes=10,
            mean=0.5,
            std=0.5,
        ),
        "MLP-Mixer, 4x4 patches, 4 blocks of width 64, ~100k parameters.",
        head="head",
    )
)
register_architecture(
    ArchSpec(
        "vit-mini",
        VisionTransformer,
        dict(
            in_channels=3,
            image_size=32,
            patch_size=4,
            dim=64,
            depth=4,
            heads=4,
            mlp_hidden=128,
            num_classes=10,
            mean=0.5,
            std=0.5,
        ),
        "Vision Transformer, 4x4 patches, 4 blocks of width 64 with 4 heads, ~140k parameters.",
        head="head",
    )
)


def list_architectures() -> list[str]:
    """Names of all registered architectures, sorted."""
    return sorted(_REGISTRY)


def get_architecture(arch: str) -> ArchSpec:
    """Return the :class:`ArchSpec` for ``arch``; :class:`ConfigError` listing the known names."""
    return lookup(_REGISTRY, arch, "architecture")


def resolve_kwargs(arch: str, **kwargs: Any) -> dict[str, Any]:
    """The registry defaults of ``arch`` overridden by ``kwargs``, checked against the builder."""
    spec = get_architecture(arch)
    accepted = spec.accepted_kwargs()
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        raise ConfigError(
            f"{arch!r} does not take the argument(s) {bullet_list(unknown)}.",
            f"Accepted arguments: {bullet_list(accepted)}.",
        )
    return {**spec.defaults, **kwargs}


def build_model(arch: str, **kwargs: Any) -> nn.Module:
    """Build ``arch`` with its defaults overridden by ``kwargs``.

    The returned module carries ``arch`` (the name) and ``arch_kwargs`` (the JSON-friendly keyword
    arguments actually used), which :func:`~metalora.models.checkpoint.save_checkpoint` writes
    into the model card so that the model can be rebuilt later.
    """
    spec = get_architecture(arch)
    merged = resolve_kwargs(arch, **kwargs)
    model = spec.builder(**merged)
    model.arch = arch
    model.arch_kwargs = to_jsonable(merged)
    model.head_name = spec.head
    return model


def to_jsonable(value: Any) -> Any:
    """Tuples to lists and NumPy/torch scalars to numbers (recursively), for a faithful JSON round trip."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # NumPy / torch scalars
        return value.item()
    return value
