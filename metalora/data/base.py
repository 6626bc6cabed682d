"""Core containers: :class:`ImageDataset`, :class:`DataSplits` and the upload :class:`Limits`.

Every data source in the package (built-in sets, uploaded files, archives) ends as an
:class:`ImageDataset`: a plain NumPy bundle of images, class labels and domain labels that checks
itself on construction. Catching a bad shape or a NaN here, with a message that names the problem,
is much kinder than a cryptic error deep inside a training loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ..errors import DataError, bullet_list

__all__ = ["DataSplits", "ImageDataset", "Limits", "check_dataset", "check_label_counts"]


@dataclass(frozen=True)
class Limits:
    """Upper bounds applied to user-supplied files, so a hostile or mistaken upload cannot
    exhaust memory or disk (zip bombs, gigapixel images, millions of tiny files).

    Attributes
    ----------
    max_upload_bytes : int
        Largest file (or byte string) we accept to read at all.
    max_pixels_per_image : int
        Largest ``width * height`` of one image, checked from the header *before* decoding.
    max_images : int
        Most images (rows, records) in one data set.
    max_zip_entries : int
        Most entries in an archive (or files in a folder).
    max_uncompressed_bytes : int
        Most bytes we are willing to decompress (or read from a folder) in total.
    max_compression_ratio : float
        Largest uncompressed/compressed ratio of an archive entry (zip-bomb guard).
    max_classes : int
        Most distinct classes.
    """

    max_upload_bytes: int = 200 * 1024**2
    max_pixels_per_image: int = 4096 * 4096
    max_images: int = 200_000
    max_zip_entries: int = 50_000
    max_uncompressed_bytes: int = 1024**3
    max_compression_ratio: float = 200.0
    max_classes: int = 1000


def _as_names(names, what: str) -> list[str]:
    """Coerce a sequence of names to a list of unique, non-empty strings."""
    if isinstance(names, str) or names is None:
        raise DataError(
            f"{what} must be a list of strings, got {names!r}.", f"Pass e.g. ['a', 'b'] as {what}."
        )
    out = [str(n) for n in list(names)]
    if not out:
        raise DataError(f"{what} is empty.", f"Give at least one name in {what}.")
    seen: set[str] = set()
    dups = sorted({n for n in out if n in seen or seen.add(n)})
    if dups:
        raise DataError(f"{what} has duplicate names: {bullet_list(dups)}.", "Make every name unique.")
    return out


def _as_labels(values, n: int, size: int, what: str, names_field: str) -> np.ndarray:
    """Check an integer label vector of length ``n`` with values in ``[0, size)``; return int64."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(
            f"{what} has shape {arr.shape}, but x holds {n} images.",
            f"Give exactly one {what} entry per image (a 1-D array of length {n}).",
        )
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if (
            np.issubdtype(arr.dtype, np.floating)
            and np.all(np.isfinite(arr))
            and np.all(arr == np.round(arr))
        ):
            arr = arr.astype(np.int64)
        else:
            raise DataError(
                f"{what} must hold whole numbers, got dtype {arr.dtype}.",
                f"Store {what} as integers indexing {names_field}.",
            )
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        bad = arr[(arr < 0) | (arr >= size)]
        raise DataError(
            f"{what} has values outside 0..{size - 1}: {bullet_list(np.unique(bad)[:10])}.",
            f"Every {what} value must index {names_field} ({size} names).",
        )
    return arr


@dataclass(eq=False)  # identity comparison: field-wise == on arrays would be ambiguous
class ImageDataset:
    """A labelled image set, checked on construction.

    Parameters
    ----------
    x : np.ndarray
        float32 images, shape ``(N, C, H, W)``, values in ``[0, 1]`` (other float dtypes are cast).
    y : np.ndarray
        int64 class indices, shape ``(N,)``, each in ``[0, len(class_names))``.
    domain : np.ndarray
        int64 domain indices, shape ``(N,)``, each in ``[0, len(domain_names))``.
    class_names, domain_names : list of str
        Human-readable names, unique and non-empty.
    name : str
        Display name of the data set (e.g. ``"digits/train"``).

    Raises
    ------
    DataError
        On wrong shapes or dtypes, non-finite or out-of-range pixels, or labels out of range.
    """

    x: np.ndarray
    y: np.ndarray
    domain: np.ndarray
    class_names: list[str]
    domain_names: list[str]
    name: str = ""

    def __post_init__(self) -> None:
        x = np.asarray(self.x)
        if x.ndim != 4:
            raise DataError(
                f"Images must be a 4-D array (N, C, H, W), got shape {x.shape}.",
                "Stack the images as (count, channels, height, width).",
            )
        if not np.issubdtype(x.dtype, np.floating):
            raise DataError(
                f"Images must be floating point in [0, 1], got dtype {x.dtype}.",
                "Scale 0..255 integer pixels by 1/255 (the file loaders do this for you).",
            )
        x = np.ascontiguousarray(x, dtype=np.float32)
        n, c, h, w = x.shape
        if c not in (1, 3):
            raise DataError(f"Images must have 1 or 3 channels, got {c}.", "Use grayscale or RGB images.")
        if h < 2 or w < 2:
            raise DataError(f"Images of {h}x{w} pixels are too small.", "Use images of at least 2x2 pixels.")
        if x.size:
            if not np.isfinite(x).all():
                bad = int(np.flatnonzero(~np.isfinite(x).reshape(n, -1).all(axis=1))[0])
                raise DataError(
                    f"Image {bad} contains NaN or infinite pixel values.", "Remove or repair those images."
                )
            lo, hi = float(x.min()), float(x.max())
            if lo < 0.0 or hi > 1.0:
                raise DataError(
                    f"Pixel values must lie in [0, 1], found range [{lo:.4g}, {hi:.4g}].",
                    "Rescale the images (e.g. divide 0..255 values by 255).",
                )
        self.x = x
        self.class_names = _as_names(self.class_names, "class_names")
        self.domain_names = _as_names(self.domain_names, "domain_names")
        self.y = _as_labels(self.y, n, len(self.class_names), "y (class labels)", "class_names")
        self.domain = _as_labels(self.domain, n, len(self.domain_names), "domain labels", "domain_names")
        self.name = str(self.name)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_classes(self) -> int:
        """Number of declared classes (``len(class_names)``)."""
        return len(self.class_names)

    @property
    def num_domains(self) -> int:
        """Number of declared domains (``len(domain_names)``)."""
        return len(self.domain_names)

    @property
    def channels(self) -> int:
        """Channels per image (1 = grayscale, 3 = RGB)."""
        return int(self.x.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        """``(H, W)`` of every image."""
        return int(self.x.shape[2]), int(self.x.shape[3])

    def class_counts(self) -> np.ndarray:
        """Images per class, shape ``(num_classes,)``."""
        return np.bincount(self.y, minlength=self.num_classes)

    def domain_counts(self) -> np.ndarray:
        """Images per domain, shape ``(num_domains,)``."""
        return np.bincount(self.domain, minlength=self.num_domains)

    def subset(self, idx) -> ImageDataset:
        """Return a new data set with the images selected by ``idx`` (indices, boolean mask or slice).

        Names are kept unchanged, so labels stay comparable between a data set and its subsets.
        """
        if isinstance(idx, slice):
            sel = np.arange(len(self))[idx]
        else:
            sel = np.asarray(idx)
            if sel.dtype == bool:
                if sel.shape != (len(self),):
                    raise DataError(
                        f"A boolean mask of shape {sel.shape} cannot select from {len(self)} images.",
                        "Use a mask with one entry per image.",
                    )
                sel = np.flatnonzero(sel)
            elif sel.size == 0:
                sel = sel.astype(np.int64)
            elif not np.issubdtype(sel.dtype, np.integer):
                raise DataError(
                    f"subset() needs integer indices, got dtype {sel.dtype}.", "Pass integer indices."
                )
            sel = sel.reshape(-1)
            if sel.size and (sel.min() < -len(self) or sel.max() >= len(self)):
                raise DataError(
                    f"subset() index out of range for {len(self)} images.", "Use indices in 0..N-1."
                )
        return ImageDataset(
            x=self.x[sel],
            y=self.y[sel],
            domain=self.domain[sel],
            class_names=list(self.class_names),
            domain_names=list(self.domain_names),
            name=self.name,
        )

    def torch_dataset(self) -> TensorDataset:
        """A :class:`~torch.utils.data.TensorDataset` of ``(x float32, y int64, domain int64)``.

        The tensors share memory with the NumPy arrays (no copy).
        """
        return TensorDataset(
            torch.from_numpy(self.x), torch.from_numpy(self.y), torch.from_numpy(self.domain)
        )

    def __repr__(self) -> str:
        return (
            f"ImageDataset(name={self.name!r}, n={len(self)}, channels={self.channels}, "
            f"image_size={self.image_size}, classes={self.num_classes}, domains={self.domain_names})"
        )


@dataclass(eq=False)
class DataSplits:
    """The train / validation / test partition of one data set.

    Each part is an :class:`ImageDataset` (in memory) or a
    :class:`~metalora.data.streaming.StreamingDataset` (read image by image, see
    :func:`~metalora.data.streaming.split_streaming`); :func:`metalora.training.fit` takes either.
    """

    train: ImageDataset
    val: ImageDataset
    test: ImageDataset

    def as_dict(self) -> dict[str, ImageDataset]:
        """``{"train": ..., "val": ..., "test": ...}`` in that order."""
        return {"train": self.train, "val": self.val, "test": self.test}


def check_dataset(
    ds: ImageDataset, *, limits: Limits | None = None, source: str = "The data set"
) -> ImageDataset:
    """Check that ``ds`` can be trained on: images present, at least two classes, and every
    declared class has at least one image. Returns ``ds`` unchanged.

    Loaders call this on what they read, so an upload with one class, or with a class folder that
    turned out empty, is refused with an explanation rather than producing a useless model.
    Streaming data sets are checked by :func:`check_label_counts`, on their labels alone.
    """
    check_label_counts(ds.y, ds.class_names, limits=limits, source=source)
    return ds


def check_label_counts(
    y: np.ndarray, class_names: list[str], *, limits: Limits | None = None, source: str = "The data set"
) -> None:
    """The checks of :func:`check_dataset`, on the class labels ``y`` (int64, in range) and names."""
    limits = limits or Limits()
    n, k = len(y), len(class_names)
    if n == 0:
        raise DataError(f"{source} contains no images.", "Add images (at least one per class).")
    if n > limits.max_images:
        raise DataError(
            f"{source} has {n:,} images; the limit is {limits.max_images:,}.",
            "Use a smaller subset of the data.",
        )
    if k > limits.max_classes:
        raise DataError(
            f"{source} has {k:,} classes; the limit is {limits.max_classes:,}.",
            "Merge or drop classes.",
        )
    if k < 2:
        raise DataError(
            f"{source} has only one class ({class_names[0]!r}); classification needs at least two.",
            "Add images of at least one more class.",
        )
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=k)
    empty = [class_names[i] for i in np.flatnonzero(counts == 0)]
    if empty:
        raise DataError(
            f"{source} declares classes with no images: {bullet_list(empty)}.",
            "Add images for those classes or remove them from the class list.",
        )
