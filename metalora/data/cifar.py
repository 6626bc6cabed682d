"""CIFAR-10 / CIFAR-100 in their *binary* distribution format (never the pickled Python one).

Layouts (as unpacked from ``cifar-10-binary.tar.gz`` / ``cifar-100-binary.tar.gz``)::

    cifar10:  data_batch_1.bin ... data_batch_5.bin, test_batch.bin, batches.meta.txt
              record = 1 label byte + 3072 pixel bytes
    cifar100: train.bin, test.bin, fine_label_names.txt
              record = 1 coarse label byte + 1 fine label byte + 3072 pixel bytes (fine label used)

Pixels are stored channel-first (1024 red, 1024 green, 1024 blue bytes of a 32x32 image), so a
record reshapes straight to ``(3, 32, 32)``. The files may sit in ``directory`` itself or in
its ``cifar-10-batches-bin`` / ``cifar-100-binary`` subfolder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError, FileFormatError, bullet_list
from .arrays import DEFAULT_DOMAIN
from .base import ImageDataset, Limits, check_dataset

__all__ = ["CIFAR10_CLASSES", "load_cifar_binary"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_PIXELS = 3 * 32 * 32
_SPEC = {
    # which: (label bytes, classes, train files, test files, names file, subfolder)
    "cifar10": (
        1,
        10,
        [f"data_batch_{i}.bin" for i in range(1, 6)],
        ["test_batch.bin"],
        "batches.meta.txt",
        "cifar-10-batches-bin",
    ),
    "cifar100": (2, 100, ["train.bin"], ["test.bin"], "fine_label_names.txt", "cifar-100-binary"),
}


def _class_names(folder: Path, names_file: str, which: str, k: int) -> list[str]:
    """Names from the metadata text file if it is present and sane, else the defaults."""
    path = folder / names_file
    if path.is_file() and path.stat().st_size < 1_000_000:
        try:
            names = [ln.strip() for ln in path.read_text("utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError):
            names = []
        if len(names) >= k and len(set(names[:k])) == k:
            return names[:k]
    return list(CIFAR10_CLASSES) if which == "cifar10" else [f"class_{i}" for i in range(k)]


def check_record_files(present: list[Path], record: int, limits, which: str, folder: Path) -> list[int]:
    """Sizes of the batch files, after checking each holds whole records and all fit the limit."""
    sizes, total = [], 0
    for path in present:
        size = path.stat().st_size
        total += size
        if total > limits.max_uncompressed_bytes:
            raise FileFormatError(
                f"The {which} files in {str(folder)!r} are too large.", "Use fewer batch files."
            )
        if size == 0 or size % record:
            raise FileFormatError(
                f"{path.name!r} is {size:,} bytes, not a whole number of {record:,}-byte {which} records.",
                f"The file is truncated or not {which} binary data; download and unpack it again.",
            )
        sizes.append(size)
    return sizes


def load_cifar_binary(
    directory, *, which: str = "cifar10", split: str = "train", limits: Limits | None = None
) -> ImageDataset:
    """Read CIFAR-10/100 binary batches with NumPy (no pickle) into an :class:`ImageDataset`.

    Parameters
    ----------
    directory : str or Path
        Folder holding the ``.bin`` files (or their standard subfolder).
    which : {"cifar10", "cifar100"}
        Which format. CIFAR-100 uses the 100 fine labels.
    split : {"train", "test"}
        Training batches (all of ``data_batch_*.bin`` present) or the test batch.

    Raises
    ------
    FileFormatError
        Missing folder or files, a size that is not a whole number of records, data over the limits.
    DataError
        Bad arguments, label bytes out of range, or classes without images.
    """
    limits = limits or Limits()
    if which not in _SPEC:
        raise DataError(f"which={which!r} is not a CIFAR variant.", "Use which='cifar10' or 'cifar100'.")
    if split not in ("train", "test"):
        raise DataError(f"split={split!r} is not a CIFAR split.", "Use split='train' or 'test'.")
    label_bytes, k, train_files, test_files, names_file, sub = _SPEC[which]
    folder = Path(directory)
    if not folder.is_dir():
        raise FileFormatError(f"The folder {str(directory)!r} does not exist.", "Check the path.")
    if (folder / sub).is_dir():
        folder = folder / sub
    wanted = train_files if split == "train" else test_files
    present = [folder / f for f in wanted if (folder / f).is_file()]
    if not present:
        raise FileFormatError(
            f"No {which} {split} files in {str(folder)!r} (looked for {bullet_list(wanted)}).",
            f"Unpack the {which} *binary* version into that folder (the Python/pickle version is not supported).",
        )
    record = label_bytes + _PIXELS
    blocks = []
    check_record_files(present, record, limits, which, folder)
    for path in present:
        try:
            raw = np.frombuffer(path.read_bytes(), dtype=np.uint8).reshape(-1, record)  # (n, record)
        except OSError as err:
            raise FileFormatError(
                f"Could not read {path.name!r}: {err}.", "Check the file permissions."
            ) from None
        labels = raw[:, label_bytes - 1].astype(np.int64)  # the fine label for cifar100
        if labels.max() >= k:
            row = int(np.argmax(labels >= k))
            raise DataError(
                f"{path.name!r} record {row} has label {labels[row]}, but {which} has {k} classes.",
                f"Check that these really are {which} files (which={which!r}).",
            )
        blocks.append((raw[:, label_bytes:], labels))
    n = sum(len(b[1]) for b in blocks)
    if n > limits.max_images:
        raise DataError(
            f"{n:,} CIFAR images exceed the limit of {limits.max_images:,}.", "Use fewer batch files."
        )
    x = (
        np.concatenate([b[0] for b in blocks]).reshape(n, 3, 32, 32).astype(np.float32) / 255.0
    )  # (N, 3, 32, 32)
    y = np.concatenate([b[1] for b in blocks])
    ds = ImageDataset(
        x,
        y,
        np.zeros(n, np.int64),
        _class_names(folder, names_file, which, k),
        [DEFAULT_DOMAIN],
        name=f"{which}/{split}",
    )
    return check_dataset(ds, limits=limits, source=f"The {which} {split} data")
