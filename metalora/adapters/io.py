"""Loading a saved adapter onto a base model, after checking that the base is the one it was trained on.

The file format and the writing side live in :mod:`.files`; this module needs the model classes.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from ..config import CONTRACTION_PATHS, MetaLoRAConfig
from ..errors import ConfigError, FileFormatError, ModelError, bullet_list
from .files import (
    CONFIG_NAME,
    LEGACY_KEYS,
    WEIGHTS_NAME,
    describe_difference,
    fingerprint,
    read_adapter_config,
    read_adapter_weights,
)
from .injection import replace_module
from .model import MetaLoRAModel, get_model


def load_adapter(
    base: nn.Module,
    directory: str | os.PathLike,
    feature_source: nn.Module | None = None,
    *,
    check_weights: bool = True,
) -> MetaLoRAModel:
    """Rebuild a saved adapter on ``base``, after checking that ``base`` is the model it was trained on.

    Two checks, each with its own message: the architecture (tensor names and shapes) and the weights (a
    hash of every frozen tensor). ``check_weights=False`` skips the second, for a base whose weights you
    know differ on purpose (the adapter then adapts weights it was not trained on).
    """
    meta = read_adapter_config(directory)
    saved = meta.get("base_fingerprint") or {}
    skip = (meta.get("config") or {}).get("modules_to_save") or ()
    here = fingerprint(base, skip=skip)
    if saved.get("sha256") != here["sha256"]:
        raise ModelError(
            f"This adapter was trained on a different architecture: {describe_difference(saved, here)}.",
            "Load it onto the same architecture it was saved from.",
        )
    if check_weights and saved.get("weights_sha256") not in (None, here["weights_sha256"]):
        raise ModelError(
            "This adapter was trained on the same architecture with other weights (the frozen tensors' "
            "hash differs).",
            "Load the weights it was trained from, or pass check_weights=False if the difference is on "
            "purpose.",
        )
    source = meta["config"].get("feature_source")
    if isinstance(source, str) and source.startswith("module:") and feature_source is None:
        MetaLoRAConfig.from_dict(meta["config"])  # raises the ConfigError that says what to pass
    try:
        config = MetaLoRAConfig.from_dict(meta["config"], feature_source=feature_source)
    except (TypeError, ConfigError) as err:
        raise FileFormatError(
            f"{CONFIG_NAME} holds an invalid config: {err}",
            "Re-save the adapter with this version of metalora.",
        ) from None
    tensors = {_current_key(n): t for n, t in read_adapter_weights(directory).items()}
    _resize_saved_heads(base, config.modules_to_save or (), tensors)
    model = get_model(base, config)
    expected = model.adapter_state_dict()
    problems = []
    if missing := [n for n in expected if n not in tensors]:
        problems.append(f"missing tensors: {bullet_list(missing, 8)}")
    if unexpected := [n for n in tensors if n not in expected]:
        problems.append(f"unexpected tensors: {bullet_list(unexpected, 8)}")
    for name, t in tensors.items():
        if name in expected and (t.shape != expected[name].shape or t.dtype != expected[name].dtype):
            problems.append(
                f"{name} is {t.dtype} {list(t.shape)}, expected "
                f"{expected[name].dtype} {list(expected[name].shape)}"
            )
    if problems:
        model.unload()
        raise FileFormatError(
            f"{WEIGHTS_NAME} does not fit its config: {'; '.join(problems[:6])}.",
            "The adapter files are inconsistent; re-save the adapter.",
        )
    with torch.no_grad():
        own = {**dict(model.named_parameters()), **dict(model.named_buffers())}
        for name, t in tensors.items():
            own[name].copy_(t)
    adapted = model.adapted_layers()
    for row in meta.get("layers") or []:  # what training ran, for the layer table (a record, not a setting)
        if (
            isinstance(row, dict)
            and row.get("name") in adapted
            and row.get("contraction") in CONTRACTION_PATHS
        ):
            adapted[row["name"]].chosen["train"] = row["contraction"]
    return model


def _resize_saved_heads(base: nn.Module, names, tensors: dict[str, torch.Tensor]) -> None:
    """A ``Linear`` trained in full with another number of outputs (a new head sized to the data's
    classes) is rebuilt at the saved size, so the saved head loads onto the original backbone."""
    for name in names:
        module = dict(base.named_modules()).get(name)
        weight = tensors.get(f"base_model.{name}.weight")
        if isinstance(module, nn.Linear) and weight is not None and weight.shape != module.weight.shape:
            if weight.dim() != 2 or weight.shape[1] != module.in_features:
                continue  # left for the shape check below to report
            new = nn.Linear(module.in_features, weight.shape[0], bias=module.bias is not None)
            replace_module(base, name, new.to(device=module.weight.device, dtype=module.weight.dtype))


def _current_key(name: str) -> str:
    """A tensor name as this version calls it (adapters saved before 0.2 named the mapping network
    ``seed_generator``)."""
    for old, new in LEGACY_KEYS.items():
        if name.startswith(old):
            return new + name[len(old) :]
    return name
