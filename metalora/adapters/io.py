"""Loading a saved adapter onto a base model, after checking that the base is the one it was trained on.

The file format and the writing side live in :mod:`.files`; this module needs the model classes.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from ..config import MetaLoRAConfig
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
from .model import MetaLoRAModel, get_model


def load_adapter(
    base: nn.Module, directory: str | os.PathLike, feature_source: nn.Module | None = None
) -> MetaLoRAModel:
    """Rebuild a saved adapter on ``base``, after checking that ``base`` is the model it was trained on."""
    meta = read_adapter_config(directory)
    here = fingerprint(base)
    saved = meta.get("base_fingerprint") or {}
    if saved.get("sha256") != here["sha256"]:
        raise ModelError(
            f"This adapter was trained on a different base model: {describe_difference(saved, here)}.",
            "Load it onto the same architecture and weights it was saved from.",
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
        params = dict(model.named_parameters())
        for name, t in tensors.items():
            params[name].copy_(t)
    return model


def _current_key(name: str) -> str:
    """A tensor name as this version calls it (adapters saved before 0.2 named the mapping network
    ``seed_generator``)."""
    for old, new in LEGACY_KEYS.items():
        if name.startswith(old):
            return new + name[len(old) :]
    return name
