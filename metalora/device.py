"""Device choice and seeding."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(device: str | torch.device | None = "auto") -> torch.device:
    """Resolve ``"auto"`` to CUDA, then Apple MPS, then CPU; validate an explicit choice."""
    if isinstance(device, torch.device):
        return device
    name = (device or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    base = name.split(":")[0]
    if base not in DEVICE_CHOICES:
        raise ConfigError(
            f"device={device!r} is not a known device.", f"Use one of {', '.join(DEVICE_CHOICES)}."
        )
    if base == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device='cuda' was asked for, but this machine has no usable CUDA GPU.",
            "Use device='auto' or 'cpu'.",
        )
    if base == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(
            "device='mps' was asked for, but Apple MPS is not available here.", "Use device='auto' or 'cpu'."
        )
    return torch.device(name)


def available_devices() -> list[dict]:
    """The devices this machine can train on: ``cpu`` always, each usable CUDA GPU with its name and memory
    (GiB), Apple's ``mps`` where it works. ``"auto"`` (see :func:`pick_device`) is not listed."""
    found = [{"device": "cpu", "name": "CPU", "memory_gib": None}]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            name = "cuda" if torch.cuda.device_count() == 1 else f"cuda:{i}"
            found.append({"device": name, "name": props.name, "memory_gib": props.total_memory / 2**30})
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append({"device": "mps", "name": "Apple GPU", "memory_gib": None})
    return found


def model_device(model: torch.nn.Module, fallback: str | torch.device = "cpu") -> torch.device:
    """The device of a module's first parameter (or buffer); ``fallback`` for a module with neither."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return pick_device(fallback)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a CPU generator seeded the same way."""
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
