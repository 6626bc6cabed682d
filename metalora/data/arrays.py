"""Turning user arrays (from .npz, CSV or code) into a checked :class:`ImageDataset`.

Users hand us images in many layouts and dtypes: ``uint8`` 0..255 or floats, ``(N, H, W)``,
``(N, C, H, W)`` or channels-last ``(N, H, W, C)``, labels as integers or as class-name strings.
:func:`dataset_from_arrays` accepts those common forms, refuses everything else with a message
that says what was found and what is expected, and ends with :func:`check_dataset`.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DataError, bullet_list
from .base import ImageDataset, Limits, check_dataset

__all__ = ["DEFAULT_DOMAIN", "dataset_from_arrays", "encode_labels", "images_to_nchw"]

#: Name of the single domain of user data that carries no domain labels.
DEFAULT_DOMAIN = "original"


def images_to_nchw(x, limits: Limits, source: str = "The data") -> np.ndarray:
    """Validate pixel data and return float32 ``(N, C, H, W)`` in [0, 1].

    Integers must be 0..255 and are divided by 255; floats must already lie in [0, 1].
    """
    x = np.asarray(x)
    kind = x.dtype.kind
    if kind not in "biuf":
        raise DataError(
            f"{source}: images have dtype {x.dtype}; pixels must be numbers.",
            "Store images as uint8 (0..255) or float (0..1) arrays.",
        )
    if x.ndim == 3:
        x = x[:, None]  # (N, 1, H, W)
    elif x.ndim == 4:
        if x.shape[1] not in (1, 3) and x.shape[3] in (1, 3):
            x = x.transpose(0, 3, 1, 2)  # channels-last -> (N, C, H, W)
        elif x.shape[1] not in (1, 3):
            raise DataError(
                f"{source}: images have shape {x.shape}; 4-D images need 1 or 3 channels.",
                "Use (N, C, H, W) or (N, H, W, C) with C = 1 (grayscale) or 3 (RGB).",
            )
    elif x.ndim == 2:
        raise DataError(
            f"{source}: images have shape {x.shape}, which looks like flattened images.",
            "Reshape them to (N, H, W) or (N, C, H, W) before saving.",
        )
    else:
        raise DataError(
            f"{source}: images have {x.ndim} dimension(s), shape {x.shape}.",
            "Use (N, H, W) for grayscale or (N, C, H, W) for colour images.",
        )
    n, c, h, w = x.shape
    if n == 0:
        raise DataError(f"{source} contains no images.", "Add at least one image per class.")
    if n > limits.max_images:
        raise DataError(
            f"{source} has {n:,} images; the limit is {limits.max_images:,}.", "Use a smaller subset."
        )
    if h * w > limits.max_pixels_per_image:
        raise DataError(
            f"{source}: images are {h}x{w} pixels, over the limit of {limits.max_pixels_per_image:,} pixels.",
            "Downscale the images first.",
        )
    if math.prod(x.shape) * 4 > limits.max_uncompressed_bytes:
        raise DataError(
            f"{source}: {n:,} images of {c}x{h}x{w} need more than {limits.max_uncompressed_bytes / 1024**3:.1f} GB.",
            "Use fewer or smaller images.",
        )
    if kind == "f":
        finite = np.isfinite(x)
        if not finite.all():
            bad = int(np.flatnonzero(~finite.reshape(n, -1).all(axis=1))[0])
            raise DataError(f"{source}: image {bad} contains NaN or infinite values.", "Remove or repair it.")
        lo, hi = float(x.min()), float(x.max())
        if lo < -1e-6 or hi > 1.0 + 1e-6:
            raise DataError(
                f"{source}: float pixels must lie in [0, 1], found range [{lo:.4g}, {hi:.4g}].",
                "Divide 0..255 values by 255 (or store them as uint8), and rescale other ranges to [0, 1].",
            )
        return np.clip(x, 0.0, 1.0).astype(np.float32)
    if kind in "iu" and (x.min() < 0 or x.max() > 255):
        raise DataError(
            f"{source}: integer pixels must be 0..255, found range [{x.min()}, {x.max()}].",
            "Store 8-bit images as uint8, or floats scaled to [0, 1].",
        )
    return x.astype(np.float32) / (1.0 if kind == "b" else 255.0)


def encode_labels(values, names, n: int, what: str, source: str = "The data") -> tuple[np.ndarray, list[str]]:
    """Map labels (integers, whole floats or strings) to int64 indices and a list of names.

    Parameters
    ----------
    values : array-like, shape ``(n,)``
        The labels as given.
    names : sequence of str or None
        Declared names. Integer labels then index into them; string labels must be among them.
        Without names, integers ``0..K-1`` are named ``"0".."K-1"``; other integer sets are
        renumbered in sorted order keeping their values as names; strings are sorted.
    """
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(
            f"{source}: {what} have shape {arr.shape}.", f"Give {what} as a 1-D array, one per image."
        )
    if arr.shape[0] != n:
        raise DataError(
            f"{source}: there are {n:,} images but {arr.shape[0]:,} {what}.",
            f"Give exactly one entry of {what} per image.",
        )
    declared = None if names is None else [str(s) for s in np.asarray(names).reshape(-1).tolist()]
    if arr.dtype.kind in "US":
        labels = arr.astype(str)
        if any(not s.strip() for s in labels.tolist()):
            i = next(i for i, s in enumerate(labels.tolist()) if not s.strip())
            raise DataError(f"{source}: entry {i} of {what} is empty.", f"Give every image a {what[:-1]}.")
        vocab = declared if declared is not None else sorted(set(labels.tolist()))
        lookup = {s: i for i, s in enumerate(vocab)}
        missing = sorted(set(labels.tolist()) - set(lookup))
        if missing:
            raise DataError(
                f"{source}: {what} {bullet_list(missing)} are not among the declared names.",
                "Add them to the name list, or fix the labels.",
            )
        return np.array([lookup[s] for s in labels.tolist()], dtype=np.int64), vocab
    if arr.dtype.kind == "f":
        ok = np.isfinite(arr) & (arr == np.round(arr))
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise DataError(
                f"{source}: {what} must be whole numbers or names; entry {i} is {arr[i]!r}.",
                "Fix that label.",
            )
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "biu":
        raise DataError(f"{source}: {what} have dtype {arr.dtype}.", "Use integers or strings.")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        i = int(np.flatnonzero(arr < 0)[0])
        raise DataError(
            f"{source}: {what} must not be negative; entry {i} is {arr[i]}.",
            "Use labels 0, 1, 2, ... (or names).",
        )
    if declared is not None:
        if arr.size and arr.max() >= len(declared):
            raise DataError(
                f"{source}: a label is {arr.max()} but only {len(declared)} names are declared.",
                "Declare a name for every label value (labels count from 0).",
            )
        return arr, declared
    uniq = np.unique(arr)
    if np.array_equal(uniq, np.arange(len(uniq))):
        return arr, [str(int(v)) for v in uniq]
    return np.searchsorted(uniq, arr).astype(np.int64), [str(int(v)) for v in uniq]


def dataset_from_arrays(
    x,
    y,
    domain=None,
    class_names=None,
    domain_names=None,
    *,
    name: str = "",
    limits: Limits | None = None,
) -> ImageDataset:
    """Build a checked :class:`ImageDataset` from user arrays (see the module docstring).

    Raises
    ------
    DataError
        On wrong dimensions, bad pixel values, mismatched lengths, undeclared or missing labels,
        fewer than two classes, or a declared class with no images.
    """
    limits = limits or Limits()
    source = f"{name!r}" if name else "The data"
    images = images_to_nchw(x, limits, source)
    n = images.shape[0]
    y_idx, classes = encode_labels(y, class_names, n, "class labels", source)
    if len(classes) > limits.max_classes:
        raise DataError(
            f"{source} has {len(classes):,} classes; the limit is {limits.max_classes:,}.",
            "Merge or drop classes.",
        )
    if domain is None:
        d_idx, domains = (
            np.zeros(n, np.int64),
            [DEFAULT_DOMAIN] if domain_names is None else list(domain_names),
        )
    else:
        d_idx, domains = encode_labels(domain, domain_names, n, "domain labels", source)
    ds = ImageDataset(images, y_idx, d_idx, classes, domains, name=name)
    return check_dataset(ds, limits=limits, source=source)
