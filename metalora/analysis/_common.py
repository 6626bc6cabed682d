"""Small helpers shared by the analysis modules: inputs, devices, subsampling, JSON, TensorLy backend."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import numpy as np
import torch

from ..errors import DataError


def as_inputs(data, y=None, domain=None):
    """``(x, y, domain, class_names, domain_names)`` from an ImageDataset or a bare (N, C, H, W) array.

    ``x`` stays a NumPy array or tensor (not copied); labels are int64 arrays.
    """
    if hasattr(data, "x") and hasattr(data, "class_names"):
        return (
            data.x,
            np.asarray(data.y, np.int64),
            np.asarray(data.domain, np.int64),
            list(data.class_names),
            list(data.domain_names),
        )
    x = data if isinstance(data, torch.Tensor) else np.asarray(data, dtype=np.float32)
    if x.ndim < 2:
        raise DataError(f"Inputs of shape {tuple(x.shape)} have no batch dimension.", "Pass (N, C, H, W).")
    n = int(x.shape[0])
    yy = np.zeros(n, np.int64) if y is None else np.asarray(y, np.int64).reshape(-1)
    dd = np.zeros(n, np.int64) if domain is None else np.asarray(domain, np.int64).reshape(-1)
    if len(yy) != n or len(dd) != n:
        raise DataError(
            f"{n} inputs but {len(yy)} class labels and {len(dd)} domain labels.", "Give one label per input."
        )
    if n and (yy.min() < 0 or dd.min() < 0):
        raise DataError("Labels must be non-negative integers.", "Use 0..K-1.")
    classes = [str(i) for i in range(int(yy.max()) + 1 if n else 1)]
    domains = [str(i) for i in range(int(dd.max()) + 1 if n else 1)]
    return x, yy, dd, classes, domains


def subsample(n: int, max_inputs: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a reproducible random subset of ``max_inputs`` out of ``n`` (all if None)."""
    if n == 0:
        raise DataError("There are no inputs to analyse.", "Pass a data set with at least one image.")
    if max_inputs is None or max_inputs >= n:
        return np.arange(n)
    if max_inputs < 1:
        raise DataError(f"max_inputs={max_inputs} must be at least 1.")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=int(max_inputs), replace=False))


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a module without parameters): where its inputs go."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def to_jsonable(value):
    """Dataclasses, dicts, lists and NumPy values to plain JSON types (NaN becomes None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@contextlib.contextmanager
def numpy_backend() -> Iterator[None]:
    """Run TensorLy on its NumPy backend in this thread only, without touching other threads.

    ``tl.set_backend`` is global, and ``tl.backend_context`` restores the old backend globally on exit;
    here the thread-local slot is set (even when the global backend is NumPy, so that another thread
    switching it meanwhile cannot reach this one) and then put back exactly as it was.
    """
    import tensorly as tl
    from tensorly.backend import BackendManager

    local = getattr(BackendManager, "_THREAD_LOCAL_DATA", None)
    if local is None:  # an unexpected TensorLy version: fall back on its own (thread-local) context
        with tl.backend_context("numpy", local_threadsafe=True):
            yield
        return
    had, old = hasattr(local, "backend"), getattr(local, "backend", None)
    tl.set_backend("numpy", local_threadsafe=True)
    try:
        yield
    finally:
        if had:
            local.backend = old
        elif hasattr(local, "backend"):
            del local.backend
