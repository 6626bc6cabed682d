"""Saving and loading adapters: ``adapter_model.safetensors`` + ``adapter_config.json``.

Nothing here ever unpickles: tensors are read with safetensors, the config with ``json``. A file that
is not what it claims (a pickle renamed, truncated bytes, a header that lies about sizes) is refused
with a :class:`~metalora.errors.FileFormatError` before any tensor reaches the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .. import __version__
from ..config import MetaLoRAConfig
from ..errors import ConfigError, FileFormatError, ModelError, bullet_list
from .model import MetaLoRAModel, get_model

WEIGHTS_NAME = "adapter_model.safetensors"
CONFIG_NAME = "adapter_config.json"
FORMAT = "metalora-adapter"
FORMAT_VERSION = 1
MAX_CONFIG_BYTES = 4 * 2**20
MAX_WEIGHTS_BYTES = 2 * 2**30


def fingerprint(base: nn.Module) -> dict:
    """Module names and weight shapes of a (not yet adapted) base model, and their hash."""
    entries = [[name, list(t.shape)] for name, t in base.state_dict().items()]
    digest = hashlib.sha256(json.dumps(entries).encode()).hexdigest()
    return {"sha256": digest, "tensors": entries}


def _describe_difference(saved: dict, here: dict) -> str:
    a = {n: tuple(s) for n, s in saved.get("tensors", [])}
    b = {n: tuple(s) for n, s in here["tensors"]}
    parts = []
    if missing := [n for n in a if n not in b]:
        parts.append(f"missing in this model: {bullet_list(missing, 8)}")
    if extra := [n for n in b if n not in a]:
        parts.append(f"not in the adapter's model: {bullet_list(extra, 8)}")
    if shapes := [f"{n} {list(a[n])} vs {list(b[n])}" for n in a if n in b and a[n] != b[n]]:
        parts.append(f"different shapes (saved vs here): {bullet_list(shapes, 8)}")
    return "; ".join(parts) or "the tensor order differs"


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_adapter(model: MetaLoRAModel, directory: str | os.PathLike) -> Path:
    """Write the adapter (weights, then config) into ``directory``; each file appears atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {n: t.contiguous().cpu() for n, t in model.adapter_state_dict().items()}
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "torch_version": torch.__version__,
        "config": model.config.to_dict(),
        "feature_dim": model.feature_dim,
        "layers": [{**row, "shape": list(row["shape"])} for row in model.layer_table()],
        "base_fingerprint": model.base_fingerprint,
    }
    _atomic_write(directory / WEIGHTS_NAME, lambda p: save_file(tensors, p, metadata={"format": FORMAT}))
    _atomic_write(directory / CONFIG_NAME, lambda p: Path(p).write_text(json.dumps(meta, indent=1)))
    return directory


def read_adapter_config(directory: str | os.PathLike) -> dict:
    """The parsed ``adapter_config.json`` of a saved adapter, validated for format."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise FileFormatError(
            f"{path} does not exist.",
            "Point to a folder written by save_adapter (it holds adapter_config.json).",
        )
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise FileFormatError(
            f"{path.name} is larger than {MAX_CONFIG_BYTES // 2**20} MiB.",
            "This is not an adapter config; re-save the adapter.",
        )
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileFormatError(
            f"{path.name} is not valid JSON ({err}).",
            "The file is corrupt or not an adapter config; re-save the adapter.",
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("config"), dict):
        raise FileFormatError(
            f"{path.name} is not a MetaLoRA adapter config.", "Point to a folder written by save_adapter."
        )
    version = meta.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise FileFormatError(
            f"{path.name} has format_version {version!r}, which is not a version number.",
            "The file is corrupt or was edited by hand; re-save the adapter with save_adapter.",
        )
    if version > FORMAT_VERSION:
        raise FileFormatError(
            f"This adapter uses format version {meta['format_version']}, newer than this "
            f"library ({FORMAT_VERSION}).",
            "Upgrade metalora.",
        )
    return meta


def read_adapter_weights(directory: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of ``adapter_model.safetensors``; anything else (a pickle, say) is refused unread."""
    path = Path(directory) / WEIGHTS_NAME
    if not path.is_file():
        raise FileFormatError(f"{path} does not exist.", "Point to a folder written by save_adapter.")
    size = path.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise FileFormatError(
            f"{path.name} is {size / 2**30:.1f} GiB, over the {MAX_WEIGHTS_BYTES // 2**30} "
            "GiB limit for an adapter.",
            "This is not an adapter file.",
        )
    with path.open("rb") as fh:
        head = fh.read(8)
    header_len = int.from_bytes(head, "little") if len(head) == 8 else -1
    if not 2 <= header_len <= min(size - 8, 100 * 2**20):
        raise FileFormatError(
            f"{path.name} is not a safetensors file (it may be a pickle or a truncated download).",
            "Only safetensors adapters are read; pickled files are never loaded. Re-save with save_adapter.",
        )
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise FileFormatError(
            f"{path.name} is not a valid safetensors file ({err}).", "Re-save the adapter with save_adapter."
        ) from None


def load_adapter(
    base: nn.Module, directory: str | os.PathLike, feature_source: nn.Module | None = None
) -> MetaLoRAModel:
    """Rebuild a saved adapter on ``base``, after checking that ``base`` is the model it was trained on."""
    meta = read_adapter_config(directory)
    here = fingerprint(base)
    saved = meta.get("base_fingerprint") or {}
    if saved.get("sha256") != here["sha256"]:
        raise ModelError(
            f"This adapter was trained on a different base model: {_describe_difference(saved, here)}.",
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
    tensors = read_adapter_weights(directory)
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
