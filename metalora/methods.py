"""The one registry of fine-tuning methods: every fact about a method lives in its :class:`Method` entry.

Config validation, training (:func:`~metalora.training.prepare`), the command line, the dashboard, the
benchmarks and the tests all read this table, so adding a method is adding one entry (and, for a new kind,
one preparer in :mod:`metalora.training.methods`). Like timm's model registry, the tests parametrise
over :func:`list_methods`.

>>> get_method("meta-tr").label("ja")
'MetaLoRA（テンソルリング）'
>>> [m.id for m in list_methods(adapter=True, input_conditioned=True)]
['meta-cp', 'meta-tr']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

__all__ = [
    "DEFAULT_RANK",
    "Method",
    "default_alpha",
    "get_method",
    "list_methods",
    "method_ids",
    "method_label",
    "register_method",
]

DEFAULT_RANK = 8
"""The adapter rank used when none is given (the CP rank, the ring rank, or LoRA's r)."""


def default_alpha(rank: int) -> float:
    """The update scale used when none is given: ``2 * rank``, so that ``alpha / rank = 2`` at every rank."""
    return float(2 * rank)


@dataclass(frozen=True)
class Method:
    """What the project knows about one way of fine-tuning a backbone.

    Parameters
    ----------
    id
        The short name used in code, configs, files and on the command line (``"meta-tr"``).
    labels
        The name shown to people, by language (``{"en": ..., "ja": ...}``).
    kind
        How it is prepared: ``"adapter"`` (low-rank adapters through :func:`~metalora.get_model`),
        ``"head"`` (only a new classifier head trains), ``"full"`` (every parameter trains), or the name
        of a preparer registered with :func:`metalora.training.methods.register_preparer`.
    tensor_format
        The factorisation of the update: ``"lora"``, ``"cp"``, ``"tr"``, or ``None`` without adapters.
    input_conditioned
        True for MetaLoRA: the core (the scaling factors) is generated per input by the mapping network.
    ranked
        True when the method takes a rank (every adapter method).
    prepare
        For methods outside this library (a benchmark's PEFT baseline): a callable
        ``prepare(base, *, rank, alpha, target_modules, seed, num_classes, **kw) -> (model, params)``.
    """

    id: str
    labels: dict[str, str]
    kind: str = "adapter"
    tensor_format: str | None = None
    input_conditioned: bool = False
    ranked: bool = True
    prepare: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @property
    def is_adapter(self) -> bool:
        """True for the methods of :func:`~metalora.get_model` (LoRA, CP, TR and MetaLoRA)."""
        return self.kind == "adapter"

    @property
    def has_core(self) -> bool:
        """True when each layer's update has a core (CP / TR): its scaling factors can be looked at."""
        return self.tensor_format in ("cp", "tr")

    def label(self, lang: str = "en") -> str:
        """The name shown to people in ``lang`` (English when that language has none)."""
        return self.labels.get(lang) or self.labels["en"]


_METHODS: dict[str, Method] = {}


def register_method(method: Method, *, replace: bool = False) -> Method:
    """Add ``method`` to the registry; an existing id is refused unless ``replace=True``."""
    if method.id in _METHODS and not replace:
        raise ConfigError(f"A method called {method.id!r} is already registered.", "Pick another id.")
    if "en" not in method.labels:
        raise ConfigError(f"Method {method.id!r} needs an English label.", 'Give labels={"en": ...}.')
    _METHODS[method.id] = method
    return method


def get_method(method_id: str) -> Method:
    """The registered method ``method_id``; :class:`ConfigError` listing the known ones otherwise."""
    try:
        return _METHODS[method_id]
    except (KeyError, TypeError):
        raise ConfigError(
            f"method={method_id!r} is not supported.", f"Allowed values: {', '.join(_METHODS)}."
        ) from None


def list_methods(
    *, adapter: bool | None = None, input_conditioned: bool | None = None, builtin: bool | None = None
) -> list[Method]:
    """Registered methods in registration order (baselines first), optionally filtered."""
    return [
        m
        for m in _METHODS.values()
        if (adapter is None or m.is_adapter == adapter)
        and (input_conditioned is None or m.input_conditioned == input_conditioned)
        and (builtin is None or (m.prepare is None) == builtin)
    ]


def method_label(method_id: str, lang: str = "en") -> str:
    """The name shown to people for ``method_id`` in ``lang``; the id itself for an unknown method."""
    entry = _METHODS.get(method_id)
    return entry.label(lang) if entry is not None else str(method_id)


def method_ids(**filters: bool | None) -> tuple[str, ...]:
    """The ids of :func:`list_methods` (same filters)."""
    return tuple(m.id for m in list_methods(**filters))


for _m in (
    Method("head", {"en": "Head only", "ja": "出力層のみ"}, kind="head", ranked=False),
    Method("full", {"en": "Full fine-tuning", "ja": "全体の再学習"}, kind="full", ranked=False),
    Method("lora", {"en": "LoRA", "ja": "LoRA"}, tensor_format="lora"),
    Method("cp", {"en": "Static CP", "ja": "固定 CP"}, tensor_format="cp"),
    Method("tr", {"en": "Static Tensor Ring", "ja": "固定テンソルリング"}, tensor_format="tr"),
    Method(
        "meta-cp", {"en": "MetaLoRA (CP)", "ja": "MetaLoRA（CP）"}, tensor_format="cp", input_conditioned=True
    ),
    Method(
        "meta-tr",
        {"en": "MetaLoRA (Tensor Ring)", "ja": "MetaLoRA（テンソルリング）"},
        tensor_format="tr",
        input_conditioned=True,
    ),
):
    register_method(_m)
del _m
