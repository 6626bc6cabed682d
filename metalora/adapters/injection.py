"""Finding the layers to adapt and swapping them for adapter wrappers (PEFT's dispatch, kept small)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

from torch import nn

from ..config import MetaLoRAConfig, name_matches
from ..errors import ConfigError, ModelError, bullet_list
from .base import AdapterLayer
from .cp import CPConv2d, CPLinear
from .lora import LoRAConv2d, LoRALinear
from .tensor_ring import TRConv2d, TRLinear

SUPPORTED_TYPES = (nn.Conv2d, nn.Linear)

DISPATCH: dict[tuple[str, type], type[AdapterLayer]] = {
    ("lora", nn.Linear): LoRALinear,
    ("lora", nn.Conv2d): LoRAConv2d,
    ("cp", nn.Linear): CPLinear,
    ("cp", nn.Conv2d): CPConv2d,
    ("tr", nn.Linear): TRLinear,
    ("tr", nn.Conv2d): TRConv2d,
}


def adaptable_modules(model: nn.Module) -> dict[str, nn.Module]:
    """Every Conv2d / Linear that can be wrapped, by name.

    Layers inside ``nn.MultiheadAttention`` are left out: it reads ``out_proj.weight`` directly
    instead of calling the module, so a wrapper there would be silently bypassed.
    """
    found: dict[str, nn.Module] = {}
    skip: list[str] = []
    for name, module in model.named_modules():
        if isinstance(module, nn.MultiheadAttention | AdapterLayer):
            skip.append(name + ".")
            continue
        if name and isinstance(module, SUPPORTED_TYPES) and not any(name.startswith(s) for s in skip):
            found[name] = module
    return found


def _matches(name: str, module: nn.Module, spec: str | Sequence[str]) -> bool:
    if spec == "all":
        return True
    if spec == "all-conv":
        return isinstance(module, nn.Conv2d)
    if spec == "all-linear":
        return isinstance(module, nn.Linear)
    if isinstance(spec, str):
        return name_matches(name, spec)
    return any(name == s or name.endswith("." + s) for s in spec)


def attention_modules(model: nn.Module) -> list[str]:
    """Names of the ``nn.MultiheadAttention`` modules (their projections cannot be wrapped)."""
    return [n for n, m in model.named_modules() if isinstance(m, nn.MultiheadAttention)]


def _inside(name: str, parents: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in parents)


def select_targets(
    model: nn.Module, config: MetaLoRAConfig, skip: Sequence[str] = ()
) -> dict[str, nn.Module]:
    """The modules ``config`` asks to adapt, or a ModelError that says what could be adapted.

    ``skip``: modules trained in full (``modules_to_save``), never adapted, nor anything inside them.
    Projections inside ``nn.MultiheadAttention`` are never adapted: it reads their weights directly, so a
    wrapper would be bypassed. Naming one is refused with that reason; a keyword (``"all"``...) leaves them
    out with a warning that names them.
    """
    candidates = {n: m for n, m in adaptable_modules(model).items() if not _inside(n, skip)}
    attention = attention_modules(model)
    if not candidates:
        raise ModelError(
            f"{type(model).__name__} has no nn.Conv2d or nn.Linear layer, so there is nothing to adapt.",
            "MetaLoRA adapts Conv2d and Linear layers; pick a model that has some.",
        )
    spec = config.target_modules
    if not isinstance(spec, str):  # every listed name must exist and be adaptable
        all_modules = dict(model.named_modules())
        for entry in spec:
            hits = [n for n in all_modules if n == entry or n.endswith("." + entry)]
            if not hits:
                raise ModelError(
                    f"target_modules: no module is named {entry!r}.",
                    f"Adaptable modules: {bullet_list(candidates)}.",
                )
            wrong = [n for n in hits if n not in candidates]
            if wrong and len(wrong) == len(hits) and _inside(wrong[0], attention):
                raise ModelError(
                    f"target_modules: {entry!r} is inside nn.MultiheadAttention, which reads its projection "
                    "weights directly instead of calling the layer, so an adapter there would be bypassed.",
                    "Adapt the MLP layers (e.g. target_modules='all-linear'), or use a model whose attention "
                    "calls nn.Linear layers (timm's ViTs do).",
                )
            if wrong and len(wrong) == len(hits) and _inside(wrong[0], skip):
                raise ConfigError(
                    f"target_modules: {entry!r} is in modules_to_save, which are trained in full.",
                    "Name it in only one of target_modules and modules_to_save.",
                )
            if wrong and len(wrong) == len(hits):
                kind = type(all_modules[wrong[0]]).__name__
                raise ModelError(
                    f"target_modules: {entry!r} is a {kind}; only Conv2d and Linear layers can be adapted.",
                    f"Adaptable modules: {bullet_list(candidates)}.",
                )
    targets = {n: m for n, m in candidates.items() if _matches(n, m, spec)}
    if config.exclude_modules is not None:
        targets = {n: m for n, m in targets.items() if not _matches(n, m, config.exclude_modules)}
    if not targets:
        raise ModelError(
            f"target_modules={spec!r} (excluding {config.exclude_modules!r}) matches no adaptable layer.",
            f"Adaptable modules: {bullet_list(candidates)}.",
        )
    if attention and isinstance(spec, str):
        warnings.warn(
            f"{len(attention)} nn.MultiheadAttention module(s) ({bullet_list(attention, 4)}) are not adapted: "
            "they read their projection weights directly, so adapters there would be bypassed.",
            UserWarning,
            stacklevel=3,
        )
    if isinstance(config.rank, Mapping):
        for key in config.rank:
            if key != "default" and not any(name_matches(n, key) for n in targets):
                raise ConfigError(
                    f"rank: the pattern {key!r} matches none of the adapted layers.",
                    f"Adapted layers: {bullet_list(targets)}.",
                )
    return targets


def make_adapter(name: str, module: nn.Module, config: MetaLoRAConfig) -> AdapterLayer:
    cls = DISPATCH[(config.tensor_format, nn.Conv2d if isinstance(module, nn.Conv2d) else nn.Linear)]
    return cls(
        module,
        rank=config.rank_for(name),
        alpha=config.alpha,
        dropout=config.dropout,
        input_conditioned=config.meta,
        contraction=config.contraction,
    )


def replace_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)
