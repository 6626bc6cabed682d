"""Built-in data sets that need no download: ``digits`` and ``shapes``.

* ``digits`` are the 1,797 real handwritten 8x8 digits shipped inside scikit-learn, upsampled
  with bilinear interpolation to ``image_size`` (one channel, 10 classes).
* ``shapes`` is the procedural colour set of :mod:`metalora.data.shapes` (three channels, 10
  classes).

:func:`load_builtin` splits either set (stratified, 70/15/15) and, when several domains are asked
for, gives each image of each split exactly one domain shift, balanced within every split.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError, bullet_list
from .base import DataSplits, ImageDataset
from .domains import make_multi_domain
from .shapes import make_shapes
from .split import split_dataset

__all__ = ["BUILTIN_DATASETS", "TEST_FRACTION", "VAL_FRACTION", "load_builtin", "load_digits_dataset"]

#: Names accepted by :func:`load_builtin`.
BUILTIN_DATASETS: tuple[str, ...] = ("digits", "shapes")
VAL_FRACTION = 0.15
TEST_FRACTION = 0.15
_MIN_SIZE, _MAX_SIZE = 4, 256


@lru_cache(maxsize=4)
def _digits_arrays(image_size: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # local: sklearn import is slow and only needed here

    bunch = load_digits()
    small = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32) / 16.0)[:, None]  # (1797, 1, 8, 8)
    big = F.interpolate(
        small, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=image_size < 8
    )
    x = big.clamp_(0.0, 1.0).numpy()  # (1797, 1, S, S)
    x.setflags(write=False)
    y = np.asarray(bunch.target, dtype=np.int64)
    y.setflags(write=False)
    return x, y


def load_digits_dataset(image_size: int = 32) -> ImageDataset:
    """All 1,797 scikit-learn digits as one clean :class:`ImageDataset` of ``image_size`` pixels."""
    x, y = _digits_arrays(int(image_size))
    return ImageDataset(
        x.copy(), y.copy(), np.zeros(len(y), np.int64), [str(i) for i in range(10)], ["clean"], name="digits"
    )


def _per_class_subset(ds: ImageDataset, per_class: int, seed: int) -> ImageDataset:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, 0xD161]))
    keep = [rng.permutation(np.flatnonzero(ds.y == c))[:per_class] for c in range(ds.num_classes)]
    return ds.subset(np.sort(np.concatenate(keep)))


def load_builtin(
    name: str,
    *,
    image_size: int = 32,
    domains=("clean",),
    severity: float = 1.0,
    seed: int = 0,
    samples_per_class: int | None = None,
) -> DataSplits:
    """Load a built-in data set, split it, and apply domain shifts.

    Parameters
    ----------
    name : str
        ``"digits"`` or ``"shapes"`` (see :data:`BUILTIN_DATASETS`).
    image_size : int
        Side of the square images in pixels (4..256).
    domains : sequence of str or str
        Domain names from :data:`~metalora.data.domains.DOMAINS` (``+`` composes). With more
        than one, every image gets exactly one domain, balanced within each split and class.
    severity : float
        Strength of the shifts, in (0, 1].
    seed : int
        Seed for the split, the domain assignment, the shifts and the shapes generator.
    samples_per_class : int or None
        Images per class before splitting. ``None`` means all 1,797 digits, or 200 shapes per
        class. At least 3, so every split can hold each class.

    Returns
    -------
    DataSplits
        Stratified 70/15/15 train / val / test splits; the same arguments give identical arrays.

    Raises
    ------
    DataError
        For an unknown name or domain, or an argument out of range.
    """
    key = str(name).strip().lower()
    if key not in BUILTIN_DATASETS:
        raise DataError(
            f"Unknown built-in data set {name!r}.", f"Choose one of {bullet_list(BUILTIN_DATASETS)}."
        )
    try:
        size = int(image_size)
    except (TypeError, ValueError):
        size = -1
    if size != image_size or not (_MIN_SIZE <= size <= _MAX_SIZE):
        raise DataError(
            f"image_size={image_size!r} is not a whole number of pixels in {_MIN_SIZE}..{_MAX_SIZE}.",
            "Use e.g. image_size=32.",
        )
    if samples_per_class is not None and (
        int(samples_per_class) != samples_per_class or int(samples_per_class) < 3
    ):
        raise DataError(
            f"samples_per_class={samples_per_class!r} must be a whole number of at least 3.",
            "Use None for the full set, or e.g. 50.",
        )
    names = [domains] if isinstance(domains, str) else list(domains)

    if key == "digits":
        base = load_digits_dataset(size)
        if samples_per_class is not None:
            base = _per_class_subset(base, int(samples_per_class), seed)
    else:
        base = make_shapes(200 if samples_per_class is None else int(samples_per_class), size, seed)

    splits = split_dataset(base, VAL_FRACTION, TEST_FRACTION, seed=seed)
    parts = []
    for k, part in enumerate((splits.train, splits.val, splits.test)):
        shifted = make_multi_domain(part, names, severity=severity, seed=int(seed) * 7919 + k)
        shifted.name = part.name
        parts.append(shifted)
    return DataSplits(*parts)
