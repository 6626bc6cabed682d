"""Data sets read image by image: :class:`StreamingDataset`, its splits and its augmentation.

An :class:`~metalora.data.ImageDataset` holds every pixel in memory, which is what the built-in sets
and uploads need, but a real image folder at 224x224 does not fit. A :class:`StreamingDataset` holds
only the labels (and, for a folder, the file names) and reads each image when it is asked for, from a
*reader* (:mod:`metalora.data.stream_sources`: an image folder, CIFAR binary files or an uncompressed
NPZ), so a :class:`torch.utils.data.DataLoader` can stream it with a bounded memory footprint
whatever the size of the data set.

It looks like an ``ImageDataset`` where that is cheap (``y``, ``domain``, ``class_names``,
``domain_names``, ``name``, ``channels``, ``image_size``, ``subset``) and its ``x`` is a lazy
:class:`LazyImages` view: ``ds.x[:16]`` or ``ds.x[rows]`` reads just those images, which is all the
analyses and the model probes need. Turning the whole of ``x`` into one array is refused, because
that is precisely the memory a streaming set exists to avoid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..errors import DataError
from .base import DataSplits, ImageDataset
from .split import split_indices

__all__ = [
    "Augment",
    "LazyImages",
    "Reader",
    "StreamingDataset",
    "is_streaming",
    "resize_chw",
    "split_streaming",
]


class Reader(Protocol):
    """What a :class:`StreamingDataset` reads from (see :mod:`metalora.data.stream_sources`).

    ``read(i)`` returns image ``i`` as float32 ``(channels, *image_size)``, resized already; the
    labels are int64 arrays of length ``len(reader)``. A reader must be picklable (DataLoader worker
    processes receive a copy) and open its files lazily in each process.
    """

    name: str
    class_names: list[str]
    domain_names: list[str]
    y: np.ndarray
    domain: np.ndarray
    channels: int
    image_size: tuple[int, int]

    def __len__(self) -> int: ...

    def read(self, i: int) -> np.ndarray: ...


def resize_chw(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize one float32 ``(C, H, W)`` image to ``size`` (bilinear, antialiased when shrinking)."""
    if tuple(img.shape[1:]) == tuple(size):
        return img
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None]  # (1, C, H, W)
    shrink = size[0] < img.shape[1] or size[1] < img.shape[2]
    out = F.interpolate(t, size=tuple(size), mode="bilinear", align_corners=False, antialias=shrink)
    return out[0].clamp_(0.0, 1.0).numpy()


@dataclass(frozen=True)
class Augment:
    """Standard training augmentation: a random crop of the image padded by ``padding`` zero pixels
    on every side, then a left-right flip with probability one half when ``flip``.

    The draws for image ``i`` in epoch ``e`` of a run with random seed ``s`` come from a generator
    seeded with ``(s, e, i)``, so they do not depend on batch order or on which worker process reads
    the image, and a run is repeatable.
    """

    padding: int = 4
    flip: bool = True

    def __post_init__(self) -> None:
        if (
            not isinstance(self.padding, (int, np.integer))
            or isinstance(self.padding, bool)
            or self.padding < 0
        ):
            raise DataError(
                f"Augment.padding={self.padding!r} must be a whole number >= 0.", "E.g. padding=4."
            )

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``img`` float32 ``(C, H, W)`` augmented; a new array of the same shape."""
        _, h, w = img.shape
        p = int(self.padding)
        out = img
        if p:
            padded = np.pad(img, ((0, 0), (p, p), (p, p)))  # (C, H + 2p, W + 2p), zeros around
            top, left = (int(v) for v in rng.integers(0, 2 * p + 1, size=2))
            out = padded[:, top : top + h, left : left + w]
        if self.flip and rng.random() < 0.5:
            out = out[:, :, ::-1]
        return np.ascontiguousarray(out, dtype=np.float32)


class StreamingDataset(Dataset):
    """A labelled image set read image by image from a :class:`Reader`.

    Parameters
    ----------
    reader
        Where the images come from (see :mod:`metalora.data.stream_sources`).
    indices
        Which of the reader's images this set holds, in order (all when ``None``).
    name
        Display name (the reader's when empty).
    augment
        Applied to every image read through :meth:`image` (give it to the training split only).

    Items are ``(x float32 (C, H, W) in [0, 1], y int64, domain int64)`` tensors, as a
    :class:`~torch.utils.data.TensorDataset` of an ``ImageDataset`` gives them.
    """

    def __init__(
        self, reader: Reader, indices=None, *, name: str = "", augment: Augment | None = None
    ) -> None:
        self.reader = reader
        n = len(reader)
        idx = np.arange(n, dtype=np.int64) if indices is None else np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= n)):
            raise DataError(f"Indices out of range for {n} images.", "Use indices in 0..N-1.")
        self.indices = idx
        self.y = np.ascontiguousarray(reader.y[idx], dtype=np.int64)
        self.domain = np.ascontiguousarray(reader.domain[idx], dtype=np.int64)
        self.class_names = list(reader.class_names)
        self.domain_names = list(reader.domain_names)
        self.name = str(name or reader.name)
        self.augment = augment

    # ------------------------------------------------------------------ what ImageDataset also has
    def __len__(self) -> int:
        return int(self.indices.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_domains(self) -> int:
        return len(self.domain_names)

    @property
    def channels(self) -> int:
        return int(self.reader.channels)

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(int(s) for s in self.reader.image_size)

    @property
    def x(self) -> LazyImages:
        """The images as a lazy array view (no augmentation): index it to read some of them."""
        return LazyImages(self)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.y, minlength=self.num_classes)

    def domain_counts(self) -> np.ndarray:
        return np.bincount(self.domain, minlength=self.num_domains)

    def subset(self, idx) -> StreamingDataset:
        """The images selected by ``idx`` (indices into this set, a boolean mask or a slice); same reader."""
        sel = np.arange(len(self))[idx] if isinstance(idx, slice) else np.asarray(idx)
        if sel.dtype == bool:
            if sel.shape != (len(self),):
                raise DataError(
                    f"A boolean mask of shape {sel.shape} cannot select from {len(self)} images.",
                    "Use a mask with one entry per image.",
                )
            sel = np.flatnonzero(sel)
        sel = sel.reshape(-1).astype(np.int64)
        if sel.size and (sel.min() < -len(self) or sel.max() >= len(self)):
            raise DataError(f"subset() index out of range for {len(self)} images.", "Use indices in 0..N-1.")
        return StreamingDataset(self.reader, self.indices[sel], name=self.name, augment=self.augment)

    def with_augment(self, augment: Augment | None) -> StreamingDataset:
        """The same images with ``augment`` (``None``: none) applied as they are read."""
        return StreamingDataset(self.reader, self.indices, name=self.name, augment=augment)

    def to_memory(self, idx=None) -> ImageDataset:
        """Read the images selected by ``idx`` (all when ``None``; no augmentation) into an ``ImageDataset``.

        Meant for small subsets (previews, analyses); reading a large set this way needs its full memory.
        """
        part = self if idx is None else self.subset(idx)
        x = part.x[:]  # (n, C, H, W)
        return ImageDataset(x, part.y, part.domain, part.class_names, part.domain_names, name=part.name)

    # ------------------------------------------------------------------ reading
    def image(self, i: int, *, epoch: int = 0, seed: int = 0) -> np.ndarray:
        """Image ``i`` as float32 ``(C, H, W)``, augmented (with draws seeded by ``(seed, epoch, i)``)
        when the set has an :class:`Augment`."""
        j = int(self.indices[i])
        img = self.reader.read(j)
        if self.augment is not None:
            rng = np.random.default_rng([int(seed) % 2**63, int(epoch), j])
            img = self.augment(img, rng)
        return img

    def item(
        self, i: int, *, epoch: int = 0, seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x, y, domain)`` tensors of image ``i`` (see :meth:`image` for ``epoch`` and ``seed``)."""
        x = torch.from_numpy(np.ascontiguousarray(self.image(i, epoch=epoch, seed=seed), dtype=np.float32))
        return x, torch.tensor(int(self.y[i])), torch.tensor(int(self.domain[i]))

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.item(int(i))

    def __repr__(self) -> str:
        return (
            f"StreamingDataset(name={self.name!r}, n={len(self)}, channels={self.channels}, "
            f"image_size={self.image_size}, classes={self.num_classes}, domains={self.domain_names}, "
            f"augment={self.augment})"
        )


class LazyImages:
    """``StreamingDataset.x``: an array-like ``(N, C, H, W)`` that reads images only when indexed.

    ``x[i]`` is one float32 ``(C, H, W)`` image; ``x[a:b]``, ``x[[i, j]]`` and ``x[mask]`` stack the
    selected ones; further axes index the result (``x[:4, 0]``). ``np.asarray(x)`` of the whole set is
    refused with :class:`DataError`: index the part you need.
    """

    def __init__(self, ds: StreamingDataset):
        self._ds = ds

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self._ds), self._ds.channels, *self._ds.image_size)

    dtype = np.dtype(np.float32)
    ndim = 4

    def __len__(self) -> int:
        return len(self._ds)

    def _read(self, i: int) -> np.ndarray:
        return self._ds.reader.read(int(self._ds.indices[i]))

    def __getitem__(self, key) -> np.ndarray:
        rest = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (slice(None), ())
        if isinstance(key, (int, np.integer)):
            n = len(self)
            if not -n <= int(key) < n:
                raise IndexError(f"index {key} is out of range for {n} images")
            out = self._read(int(key) % n)
            return out[rest] if rest else out
        sel = np.arange(len(self))[key]  # slices, integer arrays and boolean masks alike
        c, h, w = self.shape[1:]
        out = np.empty((sel.size, c, h, w), dtype=np.float32)
        for k, i in enumerate(sel.reshape(-1)):
            out[k] = self._read(int(i))
        return out[(slice(None), *rest)] if rest else out

    def __array__(self, dtype=None, copy=None):
        raise DataError(
            f"{self._ds.name!r} is a streaming data set of {len(self):,} images; it is not loaded into memory "
            "as one array.",
            "Index the images you need (x[:64], x[rows]) or use ds.to_memory(rows) for a small subset.",
        )


def is_streaming(ds) -> bool:
    """Whether ``ds`` is read image by image (a :class:`StreamingDataset`) rather than held in memory."""
    return isinstance(ds, StreamingDataset)


def split_streaming(
    ds: StreamingDataset,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    *,
    augment: Augment | None = None,
) -> DataSplits:
    """Split ``ds`` into train / val / test without reading a pixel; ``augment`` goes to train only.

    The indices are those :func:`~metalora.data.split_dataset` picks for the same labels and seed
    (stratified by class and domain, deterministic, every class kept in training), so a streaming
    folder and the same folder loaded in memory split alike.

    Raises
    ------
    DataError
        As :func:`~metalora.data.split_dataset`.
    """
    parts = split_indices(
        ds.y, ds.domain, ds.num_domains, val_fraction, test_fraction, seed, ds.name or "The data set"
    )
    prefix = f"{ds.name}/" if ds.name else ""
    out = []
    for idx, tag in zip(parts, ("train", "val", "test"), strict=True):
        sub = ds.subset(idx).with_augment(augment if tag == "train" else None)
        sub.name = prefix + tag
        out.append(sub)
    return DataSplits(*out)
