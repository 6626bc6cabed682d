"""Real backbones from torchvision and timm: ``"torchvision:resnet18"``, ``"timm:vit_tiny_patch16_224"``.

An optional extra (``pip install -e .[zoo]``; the README's ``make`` commands install it): nothing here is
imported until a zoo name is asked for. :func:`build_zoo_model` builds the architecture with random
initialisation or loads the user's weights (``.safetensors`` or a weights-only state dict, never a pickle),
then gives it a new classifier head sized to the data's classes, and wraps it in :class:`ZooClassifier`,
which takes the project's images (``(B, C, H, W)`` in [0, 1], one or three channels, any size) to the
model's own input: three channels, its input size, its normalisation (timm's ``pretrained_cfg``,
torchvision's ImageNet defaults). The wrapper's last ``nn.Linear`` is the new head, so MetaLoRA's
``feature_source="backbone"`` reads the family's pooled pre-logits features.

torchvision on a CPU-only torch: PyPI's torchvision wheels for Linux are CUDA builds whose compiled ops
(``nms``, ``roi_align``...) cannot load against the CPU build of torch, and ``import torchvision`` then
fails while registering fake kernels for those ops (``operator torchvision::nms does not exist``). The
model definitions themselves are pure Python, so :func:`import_torchvision` imports them without those
registrations in that case (detection ops then stay unavailable; no model used here needs them). With a
matching build (torch's own CPU index, or CUDA torch with CUDA torchvision) nothing is changed.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ModelError, bullet_list

__all__ = [
    "TESTED",
    "ZOO_FAMILIES",
    "ZooClassifier",
    "available_zoo_models",
    "build_zoo_model",
    "import_torchvision",
    "is_zoo_name",
    "zoo_available",
]

ZOO_FAMILIES = ("torchvision", "timm")
TESTED = (
    "torchvision:resnet18",
    "torchvision:resnet50",
    "torchvision:mobilenet_v3_small",
    "torchvision:efficientnet_b0",
    "torchvision:convnext_tiny",
    "timm:mixer_s16_224",
    "timm:vit_tiny_patch16_224",
    "timm:resmlp_12_224",
)
"""The zoo models the test suite checks (every method, exact forward, save/load); the dashboard offers them."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def is_zoo_name(name: object) -> bool:
    """True for ``"torchvision:NAME"`` and ``"timm:NAME"``."""
    return isinstance(name, str) and name.partition(":")[0] in ZOO_FAMILIES and bool(name.partition(":")[2])


def available_zoo_models() -> list[str]:
    """The :data:`TESTED` zoo models whose package is installed here."""
    return [n for n in TESTED if zoo_available(n.partition(":")[0])]


def zoo_available(family: str) -> bool:
    """Whether the package of ``family`` (``"torchvision"`` or ``"timm"``) is installed."""
    return importlib.util.find_spec(family) is not None


def import_torchvision() -> types.ModuleType:
    """``torchvision``, importable even where its compiled ops do not match this torch (module docstring)."""
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    _require("torchvision")
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as err:
        if "torchvision::" not in str(err):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    return importlib.import_module("torchvision")


def _require(family: str) -> None:
    if not zoo_available(family):
        raise ConfigError(
            f"{family} is not installed, so {family}: models are not available.",
            "Install the zoo extra: `pip install -e .[zoo]` (the README's make commands do it; on a CPU-only "
            "machine install torchvision from the same index as your torch, see the README).",
        )


@dataclass(frozen=True)
class InputSpec:
    """What a zoo model expects: its input size and its normalisation."""

    size: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]


class ZooClassifier(nn.Module):
    """A zoo backbone behind the preprocessing it expects (channels, size, normalisation).

    Attributes
    ----------
    net
        The torchvision / timm model, with its new head.
    arch
        The zoo name.
    arch_kwargs
        Empty: any data fits (grey images are repeated to three channels, and
        :func:`metalora.training.prepare` resizes the new head to the data's classes), so
        :func:`~metalora.models.check_compatible` has nothing to refuse. ``built_for`` records the channels
        and classes it was built for.
    new_head
        The name of the new, randomly initialised classifier head, or None. :func:`metalora.training.prepare`
        trains it in full (``modules_to_save``) instead of giving it a low-rank update.
    """

    def __init__(
        self,
        net: nn.Module,
        spec: InputSpec,
        *,
        arch: str,
        in_channels: int,
        num_classes: int,
        new_head: str | None = None,
    ):
        super().__init__()
        self.net = net
        self.new_head = (
            f"net.{new_head}" if new_head else None
        )  # a freshly initialised head, to train in full
        self.input_size = tuple(spec.size)
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, -1, 1, 1), persistent=False)
        self.arch = arch
        self.arch_kwargs: dict = {}
        self.built_for = {"in_channels": int(in_channels), "num_classes": int(num_classes)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, H, W) in [0, 1]
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ModelError(
                f"{self.arch} expects images (B, 1 or 3, H, W), got {tuple(x.shape)}.",
                "Give a batch of grey or colour images in [0, 1].",
            )
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grey -> the three channels the backbone reads
        if tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False, antialias=True)
        return self.net((x - self.mean.to(x.dtype)) / self.std.to(x.dtype))


def build_zoo_model(
    name: str,
    *,
    num_classes: int,
    in_channels: int = 3,
    weights: str | os.PathLike | bytes | None = None,
    image_size: int | None = None,
) -> ZooClassifier:
    """Build ``"torchvision:NAME"`` or ``"timm:NAME"`` for data with ``num_classes`` classes.

    Parameters
    ----------
    name
        The family and the model's name in it (``torchvision.models.list_models()``,
        ``timm.list_models()``).
    num_classes
        Outputs of the new classifier head (it replaces the model's own head, after ``weights`` loaded).
    in_channels
        Channels of the data (1 or 3); grey images are repeated to three channels.
    weights
        The model's own weights for its original head (``.safetensors``, or a ``.pt`` / ``.pth`` state
        dict saved with ``torch.save(model.state_dict(), ...)``, read weights-only); None for random
        initialisation.
    image_size
        The side the images are resized to; default the model's own input size (224 for most). A smaller
        size is faster on a CPU; ViTs are built for it.
    """
    family, _, arch = name.partition(":")
    if family not in ZOO_FAMILIES or not arch:
        raise ConfigError(f"{name!r} is not a zoo model name.", "Use torchvision:NAME or timm:NAME.")
    if family == "torchvision":
        net, spec = _torchvision_model(arch, image_size)
    else:
        net, spec = _timm_model(arch, image_size)
    if weights is not None:
        from .checkpoint import load_weights

        load_weights(net, weights)
    head = _new_head(net, int(num_classes), family, replace=weights is not None)
    net.eval()
    return ZooClassifier(
        net, spec, arch=name, in_channels=in_channels, num_classes=num_classes, new_head=head
    )


def _torchvision_model(arch: str, image_size: int | None) -> tuple[nn.Module, InputSpec]:
    tv = import_torchvision()
    models = importlib.import_module("torchvision.models")
    known = models.list_models(module=models)  # classification models only
    if arch not in known:
        raise ConfigError(
            f"torchvision has no classification model {arch!r}.", f"Known: {bullet_list(known, 12)}."
        )
    kwargs: dict[str, Any] = {"weights": None}
    size = image_size or 224
    if arch.startswith("vit_") and image_size is not None:
        kwargs["image_size"] = size  # torchvision's ViTs are built for one input size
    del tv
    return models.get_model(arch, **kwargs), InputSpec((size, size), IMAGENET_MEAN, IMAGENET_STD)


def _timm_model(arch: str, image_size: int | None) -> tuple[nn.Module, InputSpec]:
    _require("timm")
    import_torchvision()  # timm imports torchvision: make that import work first
    timm = importlib.import_module("timm")
    if not timm.list_models(arch):
        raise ConfigError(f"timm has no model {arch!r}.", "See timm.list_models() for the names.")
    net = None
    if image_size is not None:  # transformers and MLP models are built for one input size
        try:
            net = timm.create_model(arch, pretrained=False, img_size=image_size)
        except TypeError:  # a CNN: any input size, no img_size argument
            net = None
    if net is None:
        net = timm.create_model(arch, pretrained=False)
    cfg = getattr(net, "pretrained_cfg", {}) or {}
    size = image_size or int(cfg.get("input_size", (3, 224, 224))[-1])
    mean, std = tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD))
    return net, InputSpec((size, size), mean, std)


def _new_head(net: nn.Module, num_classes: int, family: str, *, replace: bool) -> str:
    """Give ``net`` a new classifier head with ``num_classes`` outputs; return its name.

    With ``replace=False`` (random initialisation) a head that already has the right size is kept: it is
    as new as any other."""
    if family == "timm" and hasattr(net, "reset_classifier"):
        if replace or net.get_classifier().out_features != num_classes:
            net.reset_classifier(num_classes)
        head = net.get_classifier()
        return next(n for n, m in net.named_modules() if m is head)
    linears = [n for n, m in net.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ModelError(
            "This model has no nn.Linear classifier head to resize.", "Pick a classification model."
        )
    head_name = linears[-1]
    old = net.get_submodule(head_name)
    if replace or old.out_features != num_classes:
        parent, _, leaf = head_name.rpartition(".")
        new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
        setattr(net.get_submodule(parent) if parent else net, leaf, new)
    return head_name
