"""Hugging Face PEFT's LoRA and LoHa as entries of the method registry: the benchmarks' peer baselines.

:func:`register_peft_methods` adds ``peft-lora`` and ``peft-loha`` to :mod:`metalora.methods` (kind
``"peft"``, each with its own ``prepare``), so :func:`metalora.training.run.train_run`,
:func:`metalora.training.methods.prepare` and the rank matching treat them like the library's methods.
Registering needs no PEFT (the report reads their labels from saved runs); preparing one does
(``pip install -r requirements-bench.txt``, see :func:`peft_available`).

Registration is a call, not an import side effect, so that importing a benchmark module (as the test
suite does) leaves the registry as the library ships it.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from metalora.errors import ConfigError
from metalora.methods import Method, default_alpha, register_method

__all__ = ["PEFT_LORA", "PEFT_SKIPPED", "peft_available", "peft_lora_layer", "register_peft_methods"]

PEFT_SKIPPED = (
    "PEFT is not installed: the PEFT LoRA rows and the ÷ PEFT LoRA column are skipped "
    "(pip install -r requirements-bench.txt to include them)."
)


def _torchvision_first() -> None:
    """PEFT imports torchvision (through transformers) when it is installed; import it the way
    :mod:`metalora.models.zoo` does, so a CUDA torchvision wheel beside a CPU torch does not break PEFT."""
    from metalora.models.zoo import import_torchvision, zoo_available

    if zoo_available("torchvision"):
        import_torchvision()


def peft_available() -> bool:
    """True when the ``peft`` package can be imported."""
    _torchvision_first()
    try:
        import peft  # noqa: F401
    except ImportError:
        return False
    return True


def keep_norms_frozen(model: nn.Module) -> nn.Module:
    """Keep a PEFT model's frozen BatchNorm layers in eval mode in ``train()``, as our adapters do."""
    from torch.nn.modules.batchnorm import _BatchNorm

    original = model.train

    def train(mode: bool = True):
        original(mode)
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.eval()
        return model

    model.train = train
    return model


def adapted_names(base: nn.Module, target_modules: Any = "all") -> list[str]:
    """The names of the layers PEFT adapts: every Conv2d and Linear for ``"all"`` (as our adapters),
    else the names given."""
    if target_modules != "all":
        if isinstance(target_modules, str):
            raise ConfigError(
                f"The PEFT baselines take target_modules='all' or a list of names, not {target_modules!r}."
            )
        return list(target_modules)
    return [n for n, m in base.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def prepare_peft(
    base: nn.Module, *, method: str, rank: int, alpha: float | None, target_modules, seed, num_classes, **kw
) -> tuple[nn.Module, list[nn.Parameter]]:
    """The registry's ``prepare`` of both PEFT methods: ``base`` adapted by PEFT's LoRA or LoHa with
    alpha = :func:`~metalora.methods.default_alpha` (2 x rank) unless given, like ours.

    :func:`~metalora.training.methods.prepare` has seeded torch with ``seed`` just before this call."""
    if kw:
        raise ConfigError(f"method={method!r} takes no adapter options ({', '.join(kw)}).")
    _torchvision_first()
    from peft import LoHaConfig, LoraConfig, get_peft_model

    scale = default_alpha(rank) if alpha is None else float(alpha)
    names = adapted_names(base, target_modules)
    if method == PEFT_LORA:
        config = LoraConfig(r=rank, lora_alpha=scale, target_modules=names)
    else:
        config = LoHaConfig(r=rank, alpha=scale, target_modules=names)
    model = keep_norms_frozen(get_peft_model(base, config))
    return model, [p for p in model.parameters() if p.requires_grad]


def peft_lora_layer(base: nn.Module, rank: int) -> nn.Module:
    """PEFT's own LoRA layer (``lora.Conv2d`` / ``lora.Linear``) around the single layer ``base``, alpha as
    :func:`prepare_peft` (for the layer-level timings)."""
    _torchvision_first()
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=default_alpha(rank), target_modules=["0"])
    return get_peft_model(nn.Sequential(base), config).base_model.model[0]


_ENTRIES = (
    Method(
        "peft-lora",
        {"en": "PEFT LoRA", "ja": "PEFT LoRA"},
        kind="peft",
        tensor_format="lora",
        prepare=prepare_peft,
    ),
    Method("peft-loha", {"en": "PEFT LoHa", "ja": "PEFT LoHa"}, kind="peft", prepare=prepare_peft),
)
PEFT_LORA = _ENTRIES[0].id
"""The peer of our LoRA in every table."""


def register_peft_methods() -> tuple[str, ...]:
    """Add the PEFT methods to :mod:`metalora.methods` (again: a no-op); returns their ids."""
    for entry in _ENTRIES:
        register_method(entry, replace=True)
    return tuple(e.id for e in _ENTRIES)
