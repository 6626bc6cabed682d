"""The adapter configuration: one dataclass, validated on construction.

Mirrors the conventions of Hugging Face PEFT's ``LoraConfig`` (``target_modules``, ``rank`` with
per-module patterns, ``alpha`` scaling) so that ML engineers feel at home, and adds what MetaLoRA
needs: the tensor format and where the per-input features come from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from .errors import ConfigError
from .methods import DEFAULT_RANK, default_alpha, get_method, method_ids

FEATURE_SOURCES = ("backbone", "input-stats")
CONTRACTION_PATHS = ("factored", "composed", "kernel")
CONTRACTION_MODES = ("auto", "cost", *CONTRACTION_PATHS)
"""Values of ``MetaLoRAConfig.contraction``: the planner (``auto``: timed; ``cost``: the cost model) or a path
(:mod:`metalora.adapters.contraction`)."""
"""The named feature sources; an ``nn.Module`` is the third kind."""

TARGET_KEYWORDS = ("all", "all-conv", "all-linear")

RENAMED_FIELDS = {"seed_init_std": "scaling_init_std"}
"""Config fields under their old names (adapters saved before 0.2 read as before)."""


@dataclass
class MetaLoRAConfig:
    """How to adapt a model.

    Parameters
    ----------
    method
        ``"lora"`` (static ΔW = B·A), ``"cp"`` / ``"tr"`` (static CP / Tensor-Ring factorisation with a
        learned, input-independent core), ``"meta-cp"`` / ``"meta-tr"`` (MetaLoRA: the core is generated
        per input by the mapping network).
    rank
        Rank of every adapted layer (the CP rank, the ring rank, or LoRA's r), or a mapping from module
        name / regex pattern to rank. In a mapping, the key ``"default"`` gives the rank of layers no
        other key matches; keys are tried in order and the first match wins.
    alpha
        Scale of the update: ``y = layer(x; W0) + (alpha / rank) · layer(x; ΔW(x))``, as in LoRA.
        ``None`` (the default) means ``2 * rank`` (:func:`~metalora.methods.default_alpha`; for a rank
        mapping, of its ``"default"`` rank).
    target_modules
        ``"all"`` (every Conv2d and Linear), ``"all-conv"``, ``"all-linear"``, a list of module names
        (exact, or a suffix after a dot), or any other string, read as a regular expression that must
        match the whole module name.
    exclude_modules
        Same syntax as ``target_modules``; matched modules are left alone.
    feature_source
        ``"backbone"``: the frozen base's own pooled penultimate features (the input of ``feature_layer``),
        computed once per batch without gradients. ``"input-stats"``: cheap statistics of the input
        itself (per-channel mean and spread and a coarse 4x4 thumbnail; see
        :class:`~metalora.adapters.features.InputStatistics`), with no backbone pass. Or any ``nn.Module``
        mapping the model's input to features (B, F) or (B, C, H, W), kept frozen.
    feature_layer
        For ``feature_source="backbone"``: the module whose *input* is the feature vector. Default: the
        last ``nn.Linear`` of the model (the classifier head of a usual backbone).
    feature_dim
        Width of the features, when it cannot be read off ``feature_layer`` or the feature module.
    mapping_hidden
        Hidden width of the mapping network (features -> seeds).
    scaling_init_std
        Standard deviation of the mapping network's output layer at initialisation. The default 0 makes
        every seed start at the constant 1, where the static cores start; a small positive value makes the
        seeds differ between inputs from the first step. Either way ΔW starts at 0 (the output-side factor
        is zero), so the adapted model starts equal to the base.
    dropout
        Dropout on the adapter's input (as LoRA dropout).
    freeze_norm_stats
        Keep the frozen base's BatchNorm layers in eval mode while training, so that a frozen base stays
        bit-for-bit frozen (running statistics included). The feature pass always runs in eval mode.
    modules_to_save
        Names of modules trained in full instead of adapted (PEFT's ``modules_to_save``), e.g. a new
        classifier head: never wrapped, every parameter trainable, saved in the adapter file and restored by
        :func:`~metalora.load_adapter`. :func:`metalora.training.prepare` adds the new head when the number
        of classes changes.
    contraction
        How each adapted layer computes its output; every choice is exact and only the speed differs
        (:mod:`~metalora.adapters.contraction`). ``"auto"`` (default): time the candidates on the first
        batch of each input shape on the real device and dtype, keep the fastest, and cache the choice on
        disk. ``"cost"``: pick by the cost model, without timing. ``"factored"``, ``"composed"`` or
        ``"kernel"``: force that path wherever it is valid (elsewhere the cost model picks).
    """

    method: str = "meta-tr"
    rank: int | Mapping[str, int] = DEFAULT_RANK
    alpha: float | None = None
    target_modules: str | Sequence[str] = "all"
    exclude_modules: str | Sequence[str] | None = None
    feature_source: str | nn.Module = "backbone"
    feature_layer: str | None = None
    feature_dim: int | None = None
    mapping_hidden: int = 64
    scaling_init_std: float = 0.0
    dropout: float = 0.0
    freeze_norm_stats: bool = True
    modules_to_save: Sequence[str] | None = None
    contraction: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in method_ids(adapter=True):
            raise ConfigError(
                f"method={self.method!r} is not an adapter method.",
                f"Allowed values: {', '.join(method_ids(adapter=True))}.",
            )
        self._check_rank()
        if self.alpha is None:
            self.alpha = default_alpha(self.default_rank)
        if not isinstance(self.alpha, int | float) or isinstance(self.alpha, bool) or not self.alpha > 0:
            raise ConfigError(f"alpha={self.alpha!r} must be a positive number.", "Try alpha=2 * rank.")
        self.target_modules = _check_targets("target_modules", self.target_modules)
        if self.exclude_modules is not None:
            self.exclude_modules = _check_targets("exclude_modules", self.exclude_modules)
        if not (isinstance(self.feature_source, nn.Module) or self.feature_source in FEATURE_SOURCES):
            raise ConfigError(
                f"feature_source={self.feature_source!r} is not supported.",
                "Use 'backbone' (the frozen model's own features), 'input-stats' (statistics of the "
                "input) or pass an nn.Module.",
            )
        if self.feature_dim is not None and (not isinstance(self.feature_dim, int) or self.feature_dim < 1):
            raise ConfigError(f"feature_dim={self.feature_dim!r} must be a positive integer or None.")
        if not isinstance(self.mapping_hidden, int) or self.mapping_hidden < 1:
            raise ConfigError(f"mapping_hidden={self.mapping_hidden!r} must be a positive integer.")
        std = self.scaling_init_std
        if not isinstance(std, int | float) or isinstance(std, bool) or not 0.0 <= std < float("inf"):
            raise ConfigError(f"scaling_init_std={std!r} must be a finite number >= 0.", "E.g. 0 or 0.01.")
        if not isinstance(self.dropout, int | float) or not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout={self.dropout!r} must be in [0, 1).")
        if self.contraction not in CONTRACTION_MODES:
            raise ConfigError(
                f"contraction={self.contraction!r} is not a contraction.",
                "Use 'auto' (time the candidates on the device, the default), 'cost' (the cost model) or one "
                f"of {', '.join(CONTRACTION_PATHS)} to force it wherever it is valid.",
            )
        if self.modules_to_save is not None:
            names = [self.modules_to_save] if isinstance(self.modules_to_save, str) else self.modules_to_save
            if not all(isinstance(n, str) and n for n in names):
                raise ConfigError(
                    f"modules_to_save={self.modules_to_save!r} must be a list of module names.",
                    'E.g. ["fc"].',
                )
            self.modules_to_save = tuple(names)

    def _check_rank(self) -> None:
        ranks = self.rank.values() if isinstance(self.rank, Mapping) else [self.rank]
        for r in ranks:
            if not isinstance(r, int) or isinstance(r, bool) or r < 1:
                raise ConfigError(
                    f"rank={self.rank!r}: every rank must be a positive integer.",
                    "Typical values are 1 to 16.",
                )
        if isinstance(self.rank, Mapping):
            for key in self.rank:
                _compile("rank", key)

    @property
    def meta(self) -> bool:
        """True for MetaLoRA, whose core is generated per input."""
        return get_method(self.method).input_conditioned

    @property
    def tensor_format(self) -> str:
        """The factorisation behind the method: ``"lora"``, ``"cp"`` or ``"tr"``."""
        return get_method(self.method).tensor_format

    @property
    def default_rank(self) -> int:
        """The rank of layers that no key of a rank mapping names (the rank itself when it is a number)."""
        return self.rank.get("default", DEFAULT_RANK) if isinstance(self.rank, Mapping) else self.rank

    def rank_for(self, name: str) -> int:
        """The rank of module ``name``: the first matching key of a rank mapping, else its default."""
        if not isinstance(self.rank, Mapping):
            return self.rank
        for key, r in self.rank.items():
            if key != "default" and name_matches(name, key):
                return r
        return self.default_rank

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; a feature module is recorded by its class name only."""
        d = (
            asdict(self)
            if not isinstance(self.feature_source, nn.Module)
            else {k: v for k, v in self.__dict__.items() if k != "feature_source"}
        )
        if isinstance(self.feature_source, nn.Module):
            d["feature_source"] = f"module:{type(self.feature_source).__name__}"
        d["rank"] = dict(self.rank) if isinstance(self.rank, Mapping) else self.rank
        for key in ("target_modules", "exclude_modules", "modules_to_save"):
            if isinstance(d[key], tuple):
                d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], feature_source: nn.Module | None = None) -> MetaLoRAConfig:
        """Rebuild a config saved by :meth:`to_dict`; unknown keys are refused."""
        d = {RENAMED_FIELDS.get(k, k): v for k, v in d.items()}
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ConfigError(
                f"Unknown config fields: {', '.join(sorted(unknown))}.",
                f"Known fields: {', '.join(sorted(known))}.",
            )
        d = dict(d)
        src = d.get("feature_source", "backbone")
        if isinstance(src, str) and src.startswith("module:"):
            if feature_source is None:
                raise ConfigError(
                    f"This adapter was trained with a custom feature extractor ({src[7:]}).",
                    "Pass the same module again as feature_source=...",
                )
            d["feature_source"] = feature_source
        return cls(**d)


def name_matches(name: str, pattern: str) -> bool:
    """A module name matches a pattern if equal, if it ends with ``"." + pattern``, or by regex fullmatch."""
    if name == pattern or name.endswith("." + pattern):
        return True
    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return False


def _compile(field_name: str, pattern: str) -> None:
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"{field_name}: {pattern!r} is not a module name or pattern.")
    try:
        re.compile(pattern)
    except re.error as err:
        raise ConfigError(
            f"{field_name}: {pattern!r} is not a valid regular expression ({err}).",
            "Escape special characters or list module names instead.",
        ) from None


def _check_targets(field_name: str, value: str | Sequence[str]) -> str | tuple[str, ...]:
    if isinstance(value, str):
        if value not in TARGET_KEYWORDS:
            _compile(field_name, value)
        return value
    if isinstance(value, Sequence) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise ConfigError(
        f"{field_name}={value!r} is not supported.",
        f"Use one of {', '.join(TARGET_KEYWORDS)}, a list of module names, or a regular expression.",
    )
