"""Readers for :class:`~metalora.data.streaming.StreamingDataset`: an image folder, CIFAR binary files,
an uncompressed NPZ. Each is opened with :func:`open_folder`, :func:`open_cifar` or
:func:`~metalora.data.stream_npz.open_npz` (in its own module).

Opening reads only what is small: the file list and labels of a folder (every image's header is
probed once, so an unreadable or oversized image is refused before training, and to decide between
grayscale and RGB as :func:`~metalora.data.load_imagefolder` does), the label bytes of CIFAR records,
the label arrays of an NPZ. Pixels are read when an image is asked for.

CIFAR records and NPZ images sit at fixed offsets, so one record is read with one positioned read
(``os.pread``) of exactly its bytes. That is the random access a memory map gives, without its cost
here: every page of a ``numpy.memmap`` that an epoch touches stays resident and counts in the
process's resident memory, which would then grow with the data set. The NPZ member offsets come from
the ZIP directory (:mod:`zipfile`), its ``.npy`` header is parsed with ``allow_pickle=False`` and object
arrays are refused, so nothing is ever unpickled. A compressed NPZ cannot be read at an offset and is
refused with the way out (save with ``np.savez``, or load it in memory with :func:`~metalora.data.load_npz`).

The safety rules of the in-memory loaders apply: no links out of a folder, hidden files skipped,
:class:`~metalora.data.Limits` on counts, classes and pixels. :data:`STREAMING_LIMITS` lifts only the
total-size limits, which exist to protect memory, and streaming does not hold the data in memory.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import DataError, FileFormatError, bullet_list
from .archive import check_image_size, tree_layout, walk_imagefolder
from .arrays import DEFAULT_DOMAIN
from .base import Limits, check_label_counts
from .cifar import _SPEC as _CIFAR_SPEC
from .cifar import _class_names as _cifar_class_names
from .cifar import check_record_files
from .images import decode_image, probe_image
from .streaming import StreamingDataset, resize_chw

__all__ = ["STREAMING_LIMITS", "PositionedFile", "open_cifar", "open_folder"]

#: Limits for streamed data: the in-memory defaults, with room for large data sets on disk.
STREAMING_LIMITS = replace(
    Limits(), max_images=5_000_000, max_zip_entries=5_000_000, max_uncompressed_bytes=2**44
)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class PositionedFile:
    """A file read at offsets, opened lazily once per process (DataLoader workers get their own)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None
        self._pid = -1

    def __getstate__(self):
        return {"path": self.path, "_fd": None, "_pid": -1}

    def pread(self, n: int, offset: int) -> bytes:
        if self._fd is None or self._pid != os.getpid():
            self._fd, self._pid = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0)), os.getpid()
        if hasattr(os, "pread"):
            data = os.pread(self._fd, n, offset)
        else:  # pragma: no cover - Windows
            os.lseek(self._fd, offset, os.SEEK_SET)
            data = os.read(self._fd, n)
        if len(data) != n:
            raise FileFormatError(
                f"{self.path.name!r} ended early (wanted {n:,} bytes at offset {offset:,}).",
                "The file is truncated or was changed while training; copy it again.",
            )
        return data

    def __del__(self):
        if self._fd is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(self._fd)


# ----------------------------------------------------------------------------- image folder
class FolderReader:
    """Images of an ImageFolder tree, decoded and resized one at a time (see :func:`open_folder`)."""

    def __init__(
        self, root: Path, rel: list[str], y, domain, classes, domains, size: int, gray: bool, limits
    ):
        self.root, self.rel, self.limits = root, rel, limits
        self.y, self.domain = y, domain
        self.class_names, self.domain_names = classes, domains
        self.name = root.name
        self.channels = 1 if gray else 3
        self.image_size = (size, size)

    def __len__(self) -> int:
        return len(self.rel)

    def read(self, i: int) -> np.ndarray:
        rel = self.rel[i]
        cap = int(self.limits.max_upload_bytes)
        try:
            with open(self.root / rel, "rb") as fh:
                data = fh.read(cap + 1)
        except OSError as err:
            raise FileFormatError(f"Could not read {rel!r}: {err}.", "Check the file permissions.") from None
        if len(data) > cap:
            raise FileFormatError(f"{rel!r} is over {cap / 1024**2:,.0f} MB.", "Downscale or remove it.")
        arr, _ = decode_image(data, rel, self.image_size[0], self.limits)  # (S, S, C')
        if self.channels == 1 and arr.shape[2] == 3:  # the header said gray, the pixels are colour
            arr = (arr @ _LUMA)[:, :, None]
        elif self.channels == 3 and arr.shape[2] == 1:
            arr = np.broadcast_to(arr, (*arr.shape[:2], 3))
        return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32)  # (C, S, S)


def open_folder(directory, *, image_size: int = 32, limits: Limits | None = None) -> StreamingDataset:
    """Stream a local ImageFolder directory (``class/img.png`` or ``domain/class/img.png``).

    The same files, order, labels and pixels as :func:`~metalora.data.load_imagefolder` with the
    same ``image_size``, read one image at a time.

    Raises
    ------
    FileFormatError
        A missing folder, a link out of it, a non-image or unreadable file, an image over the pixel limit.
    DataError
        A wrong layout, fewer than two classes, an empty class folder, more images or classes than the limits.
    """
    limits = limits or STREAMING_LIMITS
    size = check_image_size(image_size)
    root, files, dirs = walk_imagefolder(directory, limits)
    files, classes, domains, y, d = tree_layout(files, dirs, limits, root.name)
    check_label_counts(y, classes, limits=limits, source=repr(root.name))
    grays = [probe_image(f.path, "/".join(f.parts), limits) for f in files]  # every file, not the first few
    gray = all(grays)
    rel = [str(f.path.relative_to(root)) for f in files]
    return StreamingDataset(FolderReader(root, rel, y, d, classes, domains, size, gray, limits))


# ----------------------------------------------------------------------------- CIFAR binary
class CifarReader:
    """CIFAR-10/100 binary records, one positioned read per image (see :func:`open_cifar`)."""

    def __init__(self, files, counts, label_bytes, y, classes, name, size):
        self.files = [PositionedFile(p) for p in files]
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.label_bytes = label_bytes
        self.y, self.domain = y, np.zeros(len(y), np.int64)
        self.class_names, self.domain_names = classes, [DEFAULT_DOMAIN]
        self.name, self.channels = name, 3
        self.image_size = (32, 32) if size is None else (size, size)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def read(self, i: int) -> np.ndarray:
        k = int(np.searchsorted(self.starts, i, side="right")) - 1
        record = self.label_bytes + 3072
        raw = self.files[k].pread(record, (i - int(self.starts[k])) * record)
        img = (
            np.frombuffer(raw, np.uint8, 3072, self.label_bytes).reshape(3, 32, 32).astype(np.float32) / 255.0
        )
        return resize_chw(img, self.image_size)


def open_cifar(
    directory,
    *,
    which: str | None = None,
    split: str = "train",
    image_size: int | None = None,
    limits: Limits | None = None,
) -> StreamingDataset:
    """Stream CIFAR-10/100 binary batches: the records of :func:`~metalora.data.load_cifar_binary`.

    Parameters
    ----------
    which : {"cifar10", "cifar100"} or None
        ``None`` picks CIFAR-100 when its ``train.bin`` is there, else CIFAR-10.
    split : {"train", "test"}
    image_size : int or None
        Resize the 32x32 images to this side; ``None`` keeps 32.

    Raises
    ------
    FileFormatError, DataError
        As :func:`~metalora.data.load_cifar_binary`.
    """
    limits = limits or STREAMING_LIMITS
    folder = Path(directory)
    if not folder.is_dir():
        raise FileFormatError(f"The folder {str(directory)!r} does not exist.", "Check the path.")
    if which is None:
        probe = folder / _CIFAR_SPEC["cifar100"][5]
        which = (
            "cifar100" if (probe / "train.bin").is_file() or (folder / "train.bin").is_file() else "cifar10"
        )
    if which not in _CIFAR_SPEC:
        raise DataError(f"which={which!r} is not a CIFAR variant.", "Use which='cifar10' or 'cifar100'.")
    if split not in ("train", "test"):
        raise DataError(f"split={split!r} is not a CIFAR split.", "Use split='train' or 'test'.")
    size = None if image_size is None else check_image_size(image_size)
    label_bytes, k, train_files, test_files, names_file, sub = _CIFAR_SPEC[which]
    if (folder / sub).is_dir():
        folder = folder / sub
    wanted = train_files if split == "train" else test_files
    present = [folder / f for f in wanted if (folder / f).is_file()]
    if not present:
        raise FileFormatError(
            f"No {which} {split} files in {str(folder)!r} (looked for {bullet_list(wanted)}).",
            f"Unpack the {which} *binary* version into that folder (the Python/pickle version is not supported).",
        )
    record = label_bytes + 3072
    counts, labels = [], []
    for path, nbytes in zip(present, check_record_files(present, record, limits, which, folder), strict=True):
        lab = np.empty(nbytes // record, np.int64)
        with open(path, "rb") as fh:  # label bytes only, a block of records at a time
            for start in range(0, len(lab), 4096):
                block = np.frombuffer(fh.read(record * min(4096, len(lab) - start)), np.uint8)
                lab[start : start + len(block) // record] = block.reshape(-1, record)[:, label_bytes - 1]
        if lab.max() >= k:
            row = int(np.argmax(lab >= k))
            raise DataError(
                f"{path.name!r} record {row} has label {lab[row]}, but {which} has {k} classes.",
                f"Check that these really are {which} files (which={which!r}).",
            )
        counts.append(len(lab))
        labels.append(lab)
    y = np.concatenate(labels)
    classes = _cifar_class_names(folder, names_file, which, k)
    check_label_counts(y, classes, limits=limits, source=f"The {which} {split} data")
    return StreamingDataset(CifarReader(present, counts, label_bytes, y, classes, f"{which}/{split}", size))
