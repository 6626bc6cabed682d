"""Every way this project fine-tunes a backbone, prepared the same way: ``prepare(base, method)``.

The methods themselves are the entries of :mod:`metalora.methods` (the baselines of ``docs/method.md`` and
MetaLoRA). Each entry names its *kind*, and this module holds one preparer per kind, first match wins:

* ``"head"``: frozen backbone, the classifier head (the last ``nn.Linear``) re-initialised and trained alone;
* ``"full"``: every parameter trained (batch-norm statistics too);
* ``"adapter"``: low-rank adapters on a frozen backbone (LoRA, static CP / TR, MetaLoRA) via
  :func:`~metalora.get_model`.

A method from outside the library (a benchmark's PEFT baseline) brings its own ``prepare`` in its entry.

:func:`match_ranks` picks each adapter method's rank so that the trainable-parameter counts match a
budget, since methods are only comparable at equal budgets. :func:`save_trained` / :func:`load_trained`
store what a method trained: an adapter folder for the adapter methods, the trained tensors of the
base (safetensors + JSON) for ``head`` and ``full``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .._version import __version__
from ..adapters import fingerprint, get_model, load_adapter, read_adapter_config
from ..adapters.features import default_feature_layer
from ..adapters.files import CONFIG_NAME as ADAPTER_CONFIG_NAME
from ..config import MetaLoRAConfig
from ..errors import ConfigError, FileFormatError, ModelError, bullet_list
from ..methods import DEFAULT_RANK, Method, get_method, method_ids

__all__ = [
    "HeadOnlyModel",
    "RankMatch",
    "check_method",
    "closest_rank",
    "load_trained",
    "match_ranks",
    "prepare",
    "register_preparer",
    "save_trained",
]

TRAINED_WEIGHTS = "trained_model.safetensors"
TRAINED_CONFIG = "trained_config.json"
TRAINED_FORMAT = "metalora-trained"
MAX_RANK = 64


def check_method(method: str) -> Method:
    """The registry entry of ``method``; :class:`ConfigError` listing the allowed ones otherwise."""
    return get_method(method)


class HeadOnlyModel(nn.Module):
    """A frozen backbone whose classifier head alone is trained.

    The backbone stays bit-for-bit frozen: ``train()`` keeps every module except the head in eval mode,
    so batch-norm running statistics never move.
    """

    def __init__(self, base: nn.Module, head_name: str):
        super().__init__()
        self.base_model = base
        self.head_name = head_name

    @property
    def head(self) -> nn.Linear:
        return self.base_model.get_submodule(self.head_name)

    def forward(self, x: torch.Tensor, *args, **kwargs):
        return self.base_model(x, *args, **kwargs)

    def train(self, mode: bool = True) -> HeadOnlyModel:
        super().train(mode)
        for m in self.base_model.modules():
            m.training = False
        self.head.train(mode)
        return self


def _trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def prepare(
    base: nn.Module,
    method: str,
    *,
    rank: int = DEFAULT_RANK,
    alpha: float | None = None,
    target_modules: str | Iterable[str] = "all",
    seed: int = 0,
    num_classes: int | None = None,
    **adapter_kwargs: Any,
) -> tuple[nn.Module, list[nn.Parameter]]:
    """Make ``base`` ready to train with ``method``; return ``(model, parameters to train)``.

    ``base`` is modified in place (frozen, wrapped or given adapters), as :func:`~metalora.get_model` does.

    Parameters
    ----------
    base
        The backbone (an ``nn.Module`` classifier).
    method
        The id of a registered method (:func:`metalora.methods.list_methods`).
    rank
        Rank of the adapter methods (ignored by ``head`` and ``full``).
    alpha
        Update scale of the adapter methods; ``None`` means :func:`~metalora.methods.default_alpha`.
    target_modules
        Which layers get adapters (see :class:`~metalora.MetaLoRAConfig`).
    seed
        The random seed of the initialisation of everything new (adapter factors, the re-initialised head).
    num_classes
        For ``head``: the number of outputs of the new head (default: that of the old head).
    adapter_kwargs
        Further :class:`~metalora.MetaLoRAConfig` fields (``mapping_hidden``, ``dropout``, ...).
    """
    spec = check_method(method)
    if not isinstance(base, nn.Module):
        raise ModelError(f"prepare needs a torch.nn.Module, got {type(base).__name__}.")
    if isinstance(target_modules, Iterable) and not isinstance(target_modules, str):
        target_modules = list(target_modules)
    torch.manual_seed(int(seed))
    preparer = spec.prepare or _PREPARERS.get(spec.kind)
    if preparer is None:
        raise ConfigError(
            f"Method {spec.id!r} is of kind {spec.kind!r}, which has no preparer.",
            f"Register one with register_preparer({spec.kind!r}, fn), or give the method a prepare=.",
        )
    return preparer(
        base,
        method=spec.id,
        rank=rank,
        alpha=alpha,
        target_modules=target_modules,
        seed=int(seed),
        num_classes=num_classes,
        **adapter_kwargs,
    )


def _prepare_adapter(base: nn.Module, *, method, rank, alpha, target_modules, seed, num_classes, **kw):
    head = _new_head_if_needed(base, num_classes) or getattr(base, "new_head", None)
    if head is not None and kw.get("modules_to_save") is None:
        kw["modules_to_save"] = [head]  # a new head starts at random: train it in full, save it
    config = MetaLoRAConfig(method=method, rank=rank, alpha=alpha, target_modules=target_modules, **kw)
    model = get_model(base, config)
    return model, _trainable(model)


def _new_head_if_needed(base: nn.Module, num_classes: int | None) -> str | None:
    """Replace the classifier head (the last ``nn.Linear``) by a new one when the data has another number
    of classes; return its name (None when the head already fits)."""
    if num_classes is None:
        return None
    name = default_feature_layer(base)
    old = base.get_submodule(name)
    if old.out_features == int(num_classes):
        return None
    new = nn.Linear(old.in_features, int(num_classes), bias=old.bias is not None)
    _set_submodule(base, name, new.to(device=old.weight.device, dtype=old.weight.dtype))
    return name


def _prepare_full(base: nn.Module, *, method, rank, alpha, target_modules, seed, num_classes, **kw):
    if kw:
        raise ConfigError(f"method='full' takes no adapter options ({bullet_list(kw)}).")
    base.requires_grad_(True)
    return base, _trainable(base)


def _prepare_head(base: nn.Module, *, method, rank, alpha, target_modules, seed, num_classes, **kw):
    if kw:
        raise ConfigError(f"method='head' takes no adapter options ({bullet_list(kw)}).")
    head_name = default_feature_layer(base)  # the last nn.Linear: the classifier head
    old = base.get_submodule(head_name)
    base.requires_grad_(False)
    new = nn.Linear(old.in_features, int(num_classes or old.out_features), bias=old.bias is not None)
    new.to(device=old.weight.device, dtype=old.weight.dtype)
    _set_submodule(base, head_name, new)
    model = HeadOnlyModel(base, head_name)
    return model, _trainable(model)


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, leaf, module)


Preparer = Callable[..., tuple[nn.Module, list[nn.Parameter]]]
_PREPARERS: dict[str, Preparer] = {"adapter": _prepare_adapter, "head": _prepare_head, "full": _prepare_full}


def register_preparer(kind: str, preparer: Preparer) -> None:
    """Teach :func:`prepare` a new kind of method: ``preparer(base, *, method, rank, alpha, target_modules,
    seed, num_classes, **kw) -> (model, parameters to train)``."""
    _PREPARERS[kind] = preparer


# ----------------------------------------------------------------------------- rank matching
class RankMatch(dict):
    """``{method: rank}`` (``None`` for head / full), with the achieved ``counts`` and the ``budget``."""

    def __init__(self, ranks: Mapping[str, int | None], counts: Mapping[str, int], budget: int):
        super().__init__(ranks)
        self.counts = dict(counts)
        self.budget = int(budget)

    def relative_error(self, method: str) -> float:
        """``|count - budget| / budget`` of one method."""
        return abs(self.counts[method] - self.budget) / max(self.budget, 1)


_COUNT_CACHE: dict[tuple, int] = {}


def _count_for(base_factory: Callable[[], nn.Module], key: str, method: str, rank: int, kw: dict) -> int:
    cache_key = (key, method, rank, json.dumps(kw, sort_keys=True, default=str))
    if cache_key not in _COUNT_CACHE:
        _, params = prepare(base_factory(), method, rank=rank, **kw)
        _COUNT_CACHE[cache_key] = sum(p.numel() for p in params)
    return _COUNT_CACHE[cache_key]


def closest_rank(count: Callable[[int], int], budget: int, max_rank: int = MAX_RANK) -> int:
    """The rank in ``1..max_rank`` whose ``count(rank)`` is closest to ``budget`` (ties: the smaller rank).

    Counts grow with the rank, so a binary search finds the smallest rank reaching the budget and the
    answer is it or the rank below it.
    """
    lo, hi = 1, max_rank
    while lo < hi:
        mid = (lo + hi) // 2
        if count(mid) >= budget:
            hi = mid
        else:
            lo = mid + 1
    candidates = {r: count(r) for r in {max(1, lo - 1), lo}}
    return min(candidates, key=lambda r: (abs(candidates[r] - budget), r))


def match_ranks(
    base_factory: Callable[[], nn.Module],
    methods: Iterable[str],
    budget: int,
    *,
    max_rank: int = MAX_RANK,
    **prepare_kwargs: Any,
) -> RankMatch:
    """For each adapter method, the rank in ``1..max_rank`` whose trainable count is closest to ``budget``.

    Counts grow with the rank, so a binary search finds the two ranks around the budget; each count is
    measured by building the model (``base_factory()`` must return a fresh base every call) and cached
    per base architecture. ``head`` and ``full`` have no rank: they map to ``None`` and their counts are
    reported as they are.

    Returns
    -------
    RankMatch
        ``{method: rank}`` with ``.counts`` (the achieved trainable counts) and ``.budget``.
    """
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
        raise ConfigError(f"budget={budget!r} must be a positive whole number of parameters.", "E.g. 20000.")
    key = fingerprint(base_factory())["sha256"]
    ranks: dict[str, int | None] = {}
    counts: dict[str, int] = {}
    for method in methods:
        if not check_method(method).ranked:
            ranks[method] = None
            counts[method] = sum(p.numel() for p in prepare(base_factory(), method)[1])
            continue

        def count(rank: int, method: str = method) -> int:
            return _count_for(base_factory, key, method, rank, prepare_kwargs)

        ranks[method] = best = closest_rank(count, budget, max_rank)
        counts[method] = count(best)
    return RankMatch(ranks, counts, budget)


# ----------------------------------------------------------------------------- save / load
def save_trained(model: nn.Module, method: str, directory: str | os.PathLike) -> Path:
    """Write what ``method`` trained into ``directory`` (created): an adapter, or base tensors + JSON."""
    spec = check_method(method)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if spec.is_adapter:
        model.save_adapter(directory)
        return directory
    if method == "head":
        state = {f"{model.head_name}.{k}": v for k, v in model.head.state_dict().items()}
        base = model.base_model
    else:
        base = model
        state = dict(model.state_dict())  # batch-norm statistics change too
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    base_state = {k: v for k, v in base.state_dict().items() if k not in tensors}
    meta = {
        "format": TRAINED_FORMAT,
        "format_version": 1,
        "library_version": __version__,
        "method": method,
        "head_shape": list(model.head.weight.shape) if method == "head" else None,
        "frozen_fingerprint": _frozen_fingerprint(base_state),
    }
    save_file(tensors, str(directory / TRAINED_WEIGHTS), metadata={"format": TRAINED_FORMAT})
    (directory / TRAINED_CONFIG).write_text(json.dumps(meta, indent=1))
    return directory


def _frozen_fingerprint(state: Mapping[str, torch.Tensor]) -> list:
    return [[k, list(v.shape)] for k, v in state.items()]


def saved_method(directory: str | os.PathLike) -> str:
    """The method a folder written by :func:`save_trained` holds."""
    directory = Path(directory)
    if (directory / ADAPTER_CONFIG_NAME).is_file():
        return read_adapter_config(directory)["config"]["method"]
    return _read_trained_config(directory)["method"]


def _read_trained_config(directory: Path) -> dict:
    path = directory / TRAINED_CONFIG
    if not path.is_file():
        raise FileFormatError(
            f"{directory} holds neither {ADAPTER_CONFIG_NAME} nor {TRAINED_CONFIG}.",
            "Point to a run folder written by `metalora train` (or save_trained).",
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileFormatError(f"{path.name} is not valid JSON ({err}).", "Train the run again.") from None
    if (
        not isinstance(meta, dict)
        or meta.get("format") != TRAINED_FORMAT
        or meta.get("method") not in method_ids(builtin=True)
    ):
        raise FileFormatError(f"{path} is not a MetaLoRA trained-model config.", "Train the run again.")
    return meta


def load_trained(
    base: nn.Module, directory: str | os.PathLike, feature_source: nn.Module | None = None
) -> nn.Module:
    """Rebuild a model saved by :func:`save_trained` on ``base`` (modified in place); eval mode."""
    directory = Path(directory)
    if (directory / ADAPTER_CONFIG_NAME).is_file():
        return load_adapter(base, directory, feature_source=feature_source).eval()
    meta = _read_trained_config(directory)
    try:
        tensors = load_file(str(directory / TRAINED_WEIGHTS))
    except Exception as err:  # safetensors raises several types for corrupt files
        raise FileFormatError(
            f"{directory / TRAINED_WEIGHTS} is missing or not a valid safetensors file ({err}).",
            "Train the run again.",
        ) from None
    if meta["method"] == "head":
        model, _ = prepare(base, "head", num_classes=int(meta["head_shape"][0]))
        target = model.base_model
    else:
        model = target = base
    frozen = {k: v for k, v in target.state_dict().items() if k not in tensors}
    if _frozen_fingerprint(frozen) != meta.get("frozen_fingerprint"):
        raise ModelError(
            "These trained weights belong to a different base model (names or shapes differ).",
            "Load them onto the model the run was trained from.",
        )
    own = target.state_dict()
    bad = [k for k, v in tensors.items() if k not in own or own[k].shape != v.shape]
    if bad:
        raise FileFormatError(
            f"{TRAINED_WEIGHTS} does not fit the model: {bullet_list(bad, 8)}.", "Train the run again."
        )
    target.load_state_dict(tensors, strict=False)
    model.requires_grad_(False)
    return model.eval()
