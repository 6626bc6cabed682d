"""From a model name to a fresh base module, and whether a base fits a data set.

Names: ``"sample:NAME"`` (a shipped sample model), ``"arch:NAME"`` (a registered architecture, built for
the data's channels and classes with a fixed initialisation seed 0, so every run starts from the same
base), ``"torchvision:NAME"`` / ``"timm:NAME"`` (a zoo backbone, :mod:`.zoo`, random or with the user's
``weights``, with a new head for the data's classes, also from seed 0), a checkpoint path
(``.safetensors`` with its ``.json`` card), or a bare sample / architecture name.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch
from torch import nn

from ..data import DataSplits
from ..errors import ConfigError, DataError, bullet_list
from .architectures import build_model, list_architectures
from .checkpoint import list_sample_models, load_checkpoint, load_sample_model
from .zoo import build_zoo_model, is_zoo_name

__all__ = ["check_compatible", "resolve_model"]


def resolve_model(
    model: str | nn.Module,
    splits: DataSplits,
    *,
    weights: str | os.PathLike | bytes | None = None,
    image_size: int | None = None,
) -> tuple[nn.Module, str]:
    """``(fresh base module, its name)`` from a module (deep-copied) or a name (see the module docstring).

    ``weights`` and ``image_size`` apply to zoo models only (see :func:`~metalora.models.zoo.build_zoo_model`);
    with a module they are only recorded by the caller (the module is already built).
    """
    if isinstance(model, nn.Module):
        return copy.deepcopy(model), f"module:{type(model).__name__}"
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"model={model!r} is neither an nn.Module nor a model name.")
    name = model.strip()
    if is_zoo_name(name):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            base = build_zoo_model(
                name,
                num_classes=len(splits.train.class_names),
                in_channels=int(splits.train.x.shape[1]),
                weights=weights,
                image_size=image_size,
            )
        return base, name
    if weights is not None or image_size is not None:
        raise ConfigError(
            f"weights= and image_size= apply to torchvision: and timm: models, not to {name!r}.",
            "Leave them out, or name a zoo model.",
        )
    kind, _, rest = name.partition(":")
    if not rest:
        if name in list_sample_models():
            kind, rest = "sample", name
        elif name in list_architectures():
            kind, rest = "arch", name
        elif Path(name).with_suffix(".json").is_file() or Path(name).is_file():
            kind, rest = "path", name
        else:
            raise ConfigError(
                f"Unknown model {name!r}.",
                f"Use sample:NAME ({bullet_list(list_sample_models()) or 'none installed'}), arch:NAME "
                f"({bullet_list(list_architectures())}), torchvision:NAME, timm:NAME or the path of a "
                "checkpoint.",
            )
    if kind == "sample":
        base, _card = load_sample_model(rest)
    elif kind == "arch":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            x = splits.train.x
            base = build_model(rest, in_channels=int(x.shape[1]), num_classes=len(splits.train.class_names))
    elif kind == "path":
        base, _card = load_checkpoint(rest)
    else:
        raise ConfigError(
            f"Unknown model kind {kind!r} in {name!r}.", "Use sample:NAME, arch:NAME or a path."
        )
    return base, f"{kind}:{rest}"


def check_compatible(base: nn.Module, splits: DataSplits) -> None:
    """Refuse data whose channels or classes do not fit the model, with a message that says what to do.

    Only models that record their construction (``arch_kwargs``: the registered architectures and the
    sample models) can be checked this way; any other module is checked by running it on one image.
    """
    kwargs = getattr(base, "arch_kwargs", {}) or {}
    channels, classes = kwargs.get("in_channels"), kwargs.get("num_classes")
    if channels is not None and channels != splits.train.channels:
        raise DataError(
            f"The model reads {channels}-channel images but the data has {splits.train.channels}.",
            "Pick a data set with the same number of colour channels as the model, or another model.",
        )
    if classes is not None and classes != splits.train.num_classes:
        raise DataError(
            f"The model predicts {classes} classes but the data has {splits.train.num_classes}.",
            "Pick a data set with as many classes as the model, or another model.",
        )
