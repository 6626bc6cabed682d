"""Saving and loading backbone checkpoints without ever unpickling untrusted data.

A checkpoint is two files side by side: ``<name>.safetensors`` (the weights, a format that holds
only tensors) and ``<name>.json`` (the model card: architecture, keyword arguments, data set,
accuracy, how it was built). The model is rebuilt from the card through the architecture registry,
so no code is ever loaded from disk. ``load_weights`` also accepts a PyTorch ``.pt`` state dict,
read with ``torch.load(weights_only=True)`` whose restricted unpickler refuses arbitrary objects.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load_bytes
from safetensors.torch import save_file as st_save_file
from torch import nn

from ..errors import FileFormatError, ModelError, bullet_list
from .architectures import build_model, to_jsonable

MAX_WEIGHTS_BYTES = 2 * 1024**3  # refuse files larger than this (a hint of a wrong file)
SAMPLE_MODELS_ENV = "METALORA_SAMPLE_MODELS"
CARD_FORMAT = "metalora-checkpoint/1"


# ----------------------------------------------------------------------------- writing
def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then move the temp file onto ``path`` (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"))  # same folder: atomic rename
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # safetensors creates files readable by the owner only
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process umask, read without changing it (Linux), else the usual 0o022."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _stem(path: str | os.PathLike) -> Path:
    """``dir/name``, ``dir/name.safetensors`` or ``dir/name.json`` -> ``dir/name``."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".safetensors", ".json") else p


def save_checkpoint(model: nn.Module, path: str | os.PathLike, card: Mapping[str, Any] | None = None) -> Path:
    """Write ``<path>.safetensors`` and ``<path>.json``; return the ``.safetensors`` path.

    ``card`` is stored as the model card. ``architecture`` and ``kwargs`` are filled in from a model
    built by :func:`~metalora.models.architectures.build_model` when the card does not give them; a card
    without them cannot be loaded back by :func:`load_checkpoint`.
    """
    stem = _stem(path)
    full = dict(card or {})
    full.setdefault("architecture", getattr(model, "arch", None))
    full.setdefault("kwargs", getattr(model, "arch_kwargs", None))
    full["format"] = CARD_FORMAT
    if not full["architecture"] or full["kwargs"] is None:
        raise ModelError(
            "The model card has no 'architecture'/'kwargs' and the model was not built by build_model.",
            "Build the model with metalora.models.build_model, or pass card={'architecture': ..., 'kwargs': {...}}.",
        )
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    text = json.dumps(to_jsonable(full), indent=2, sort_keys=True, default=str) + "\n"
    weights = stem.with_name(stem.name + ".safetensors")
    meta = {"format": CARD_FORMAT}  # one key: safetensors writes metadata in hash order, keep bytes stable
    _atomic_write(weights, lambda tmp: st_save_file(state, tmp, metadata=meta))
    _atomic_write(
        stem.with_name(stem.name + ".json"), lambda tmp: Path(tmp).write_text(text, encoding="utf-8")
    )
    return weights


# ----------------------------------------------------------------------------- reading
def _read_bytes(
    source: str | os.PathLike | bytes | bytearray | memoryview, max_bytes: int
) -> tuple[bytes, str]:
    """Return the raw bytes and a human label for ``source`` (a path or an in-memory upload)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), "The uploaded file"
    else:
        p = Path(source)
        label = str(p)
        if not p.is_file():
            raise FileFormatError(
                f"Weights file {label} does not exist.", "Check the path or upload the file again."
            )
        size = p.stat().st_size
        if size > max_bytes:
            raise FileFormatError(
                f"{label} is {size / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB limit.",
                "Check that this is the right file, or raise max_bytes.",
            )
        data = p.read_bytes()
    if len(data) > max_bytes:
        raise FileFormatError(
            f"{label} is {len(data) / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB limit.",
            "Check that this is the right file.",
        )
    if not data:
        raise FileFormatError(f"{label} is empty.", "Upload a .safetensors or .pt state dict.")
    return data, label


def _looks_like_safetensors(data: bytes) -> bool:
    """Safetensors files start with an 8-byte little-endian header length, then a JSON ``{``."""
    if len(data) < 10:
        return False
    n = int.from_bytes(data[:8], "little")
    return 0 < n <= len(data) - 8 and data[8:9] == b"{"


def _unwrap_state_dict(obj: Any, label: str) -> dict[str, torch.Tensor]:
    """Accept ``{name: tensor}``, or one nested under ``state_dict``/``model``; strip ``module.``."""
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise FileFormatError(
            f"{label} does not hold a state dict (a mapping of names to tensors).",
            "Save the weights with torch.save(model.state_dict(), path) or as .safetensors.",
        )
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise FileFormatError(
            f"{label} holds entries that are not tensors: {bullet_list(bad, 8)}.",
            "Save only model.state_dict(), not a training checkpoint with optimiser state.",
        )
    state = {str(k): v for k, v in obj.items()}
    if all(k.startswith("module.") for k in state):  # saved from DataParallel / DDP
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def read_state_dict(
    source: str | os.PathLike | bytes | bytearray | memoryview, *, max_bytes: int = MAX_WEIGHTS_BYTES
) -> dict[str, torch.Tensor]:
    """Read a state dict from a ``.safetensors`` file or a ``.pt`` file, path or bytes.

    ``.pt`` payloads go through ``torch.load(weights_only=True)`` only: a pickle that would build
    arbitrary objects (and so could run code) is refused with :class:`FileFormatError`.
    """
    data, label = _read_bytes(source, max_bytes)
    if _looks_like_safetensors(data):
        try:
            return _unwrap_state_dict(st_load_bytes(data), label)
        except SafetensorError as err:
            raise FileFormatError(
                f"{label} looks like a .safetensors file but is corrupt ({err}).",
                "Re-export the weights, or upload an intact copy.",
            ) from None
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": refused or read, never run
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt pickles raise anything (IndexError, KeyError, ...)
        raise FileFormatError(
            f"{label} is neither a .safetensors file nor a plain PyTorch state dict: {_why_refused(err)}.",
            "For safety we never unpickle arbitrary objects. Save only the weights, e.g. "
            "safetensors.torch.save_file(model.state_dict(), 'model.safetensors').",
        ) from None
    return _unwrap_state_dict(obj, label)


def _why_refused(err: BaseException) -> str:
    """A short reason from ``torch.load``'s error, without its advice to turn safety off."""
    text = str(err)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        return f"it contains a pickled object of type {found.group(1)}, which could run code when loaded"
    if isinstance(err, pickle.UnpicklingError) or "Weights only load failed" in text:
        return "it contains pickled objects other than tensors, which could run code when loaded"
    return f"it is corrupt or of an unknown kind ({type(err).__name__})"


def check_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Raise :class:`ModelError` listing missing keys, unexpected keys and shape differences."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys: {bullet_list(missing, 10)}")
        if unexpected:
            parts.append(f"unexpected keys: {bullet_list(unexpected, 10)}")
        if shapes:
            parts.append(f"shape differences: {bullet_list(shapes, 10)}")
        raise ModelError(
            "The weights do not match the model (" + "; ".join(parts) + ").",
            "Pick the architecture and settings (channels, classes, widths) the weights were trained with.",
        )


def load_weights(
    model: nn.Module,
    source: str | os.PathLike | bytes | bytearray | memoryview,
    *,
    max_bytes: int = MAX_WEIGHTS_BYTES,
) -> nn.Module:
    """Load weights into ``model`` in place (and return it) after checking every key and shape."""
    state = read_state_dict(source, max_bytes=max_bytes)
    check_state_dict(model, state)
    own = model.state_dict()
    model.load_state_dict({k: v.to(dtype=own[k].dtype) for k, v in state.items()}, strict=True)
    return model


def _find_checkpoint(path_or_name: str | os.PathLike) -> Path:
    """Resolve a path (with or without suffix) or a bare sample-model name to a checkpoint stem."""
    stem = _stem(path_or_name)
    candidates = [stem]
    if isinstance(path_or_name, str) and os.sep not in path_or_name and "/" not in path_or_name:
        candidates.append(sample_models_dir() / stem.name)
    for c in candidates:
        if c.with_name(c.name + ".safetensors").is_file() and c.with_name(c.name + ".json").is_file():
            return c
    raise FileFormatError(
        f"No checkpoint {str(path_or_name)!r} (need both <name>.safetensors and <name>.json).",
        f"Sample models available: {bullet_list(list_sample_models())}.",
    )


def read_card(path_or_name: str | os.PathLike) -> dict[str, Any]:
    """Read only the model card (JSON) of a checkpoint."""
    stem = _find_checkpoint(path_or_name)
    card_path = stem.with_name(stem.name + ".json")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileFormatError(
            f"Model card {card_path} is not valid JSON ({err}).", "Rebuild the checkpoint."
        ) from None
    if not isinstance(card, dict) or "architecture" not in card or not isinstance(card.get("kwargs"), dict):
        raise FileFormatError(
            f"Model card {card_path} lacks 'architecture' or 'kwargs'.",
            "Save checkpoints with metalora.models.save_checkpoint.",
        )
    return card


def load_checkpoint(
    path_or_name: str | os.PathLike, *, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Rebuild the model from its card, load its weights; return ``(model in eval mode, card)``."""
    stem = _find_checkpoint(path_or_name)
    card = read_card(stem)
    model = build_model(card["architecture"], **card["kwargs"])
    load_weights(model, stem.with_name(stem.name + ".safetensors"))
    return model.to(device).eval(), card


# ----------------------------------------------------------------------------- sample models
def sample_models_dir() -> Path:
    """``$METALORA_SAMPLE_MODELS`` if set, else the repository's top-level ``sample_models/``."""
    env = os.environ.get(SAMPLE_MODELS_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "sample_models"


def list_sample_models() -> list[str]:
    """Names of the complete checkpoints (``.safetensors`` + ``.json``) in :func:`sample_models_dir`."""
    d = sample_models_dir()
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.safetensors") if p.with_suffix(".json").is_file())


def load_sample_model(name: str, *, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Load the shipped sample model ``name`` (e.g. ``"resnet-mini-digits"``)."""
    stem = _stem(name)
    if stem.name not in list_sample_models():
        raise FileFormatError(
            f"No sample model {name!r} in {sample_models_dir()}.",
            f"Available: {bullet_list(list_sample_models())}. Rebuild them with `make sample-models`.",
        )
    return load_checkpoint(sample_models_dir() / stem.name, device=device)
