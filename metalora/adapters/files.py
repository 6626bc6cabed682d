"""Adapter files: the format, the base model's fingerprint, and writing / reading them safely.

A leaf of state-dict helpers (as PEFT's ``utils/save_and_load.py``): it knows the files, not the model
classes, so both :mod:`.model` (``MetaLoRAModel.save_adapter``) and :mod:`.io` (``load_adapter``) import it.
Weights are safetensors only; nothing here ever unpickles.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .._version import __version__
from ..errors import FileFormatError, bullet_list

if TYPE_CHECKING:
    from .model import MetaLoRAModel

WEIGHTS_NAME = "adapter_model.safetensors"
CONFIG_NAME = "adapter_config.json"
FORMAT = "metalora-adapter"
FORMAT_VERSION = 1
MAX_CONFIG_BYTES = 4 * 2**20
MAX_WEIGHTS_BYTES = 2 * 2**30
LEGACY_KEYS = {"seed_generator.": "mapping_network."}
"""Tensor-name prefixes of older versions, and what they are called now."""


def fingerprint(base: nn.Module, skip: Sequence[str] = ()) -> dict:
    """What identifies a (not yet adapted) base model: its tensor names and shapes (``sha256``, the
    architecture) and a hash of the tensors' values (``weights_sha256``, the weights).

    ``skip``: modules trained in full (``modules_to_save``), whose tensors the adapter carries itself, so
    a fresh head on the same backbone still matches. Hashing reads every frozen tensor once (about 0.1 s
    per 100 MB).
    """
    state = {k: t for k, t in base.state_dict().items() if not any(k.startswith(m + ".") for m in skip)}
    entries = [[name, list(t.shape)] for name, t in state.items()]
    digest = hashlib.sha256(json.dumps(entries).encode()).hexdigest()
    weights = hashlib.sha256()
    for t in state.values():
        weights.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return {"sha256": digest, "weights_sha256": weights.hexdigest(), "tensors": entries}


def describe_difference(saved: dict, here: dict) -> str:
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
    lost = model.untracked_trainable()
    if lost:
        warnings.warn(
            f"{len(lost)} trainable parameter(s) are not part of the adapter and will not be saved: "
            f"{bullet_list(lost, 6)}. Name their modules in MetaLoRAConfig(modules_to_save=[...]) to train "
            "and save them in full.",
            UserWarning,
            stacklevel=2,
        )
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
