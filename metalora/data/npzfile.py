"""Loading user arrays from a NumPy ``.npz`` archive, without ever unpickling.

``.npz`` members are parsed with ``numpy.lib.format.read_array(..., allow_pickle=False)`` after
their header has been checked for object dtypes, so a crafted file cannot run code. The archive
itself goes through the same zip-bomb checks as image archives. Accepts a path, raw bytes, or an
upload object and returns an :class:`ImageDataset`; split it with
:func:`~metalora.data.split.split_dataset`.
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import DataError, FileFormatError, bullet_list
from .arrays import dataset_from_arrays
from .base import ImageDataset, Limits
from .safezip import check_zip, open_zip, read_member
from .source import ByteBudget, read_source

__all__ = ["load_npz"]

_NPZ_HINT = "Save it with np.savez('data.npz', x=images, y=labels), using numeric arrays (strings for names)."
_ALIASES = {
    "x": ("x", "X", "images", "data", "x_train"),
    "y": ("y", "Y", "labels", "targets", "y_train"),
    "domain": ("domain", "domains"),
    "class_names": ("class_names", "classes"),
    "domain_names": ("domain_names",),
}


def _parse_npy(raw: bytes, key: str, name: str) -> np.ndarray:
    """Parse one ``.npy`` member without ever unpickling; object arrays are refused."""
    fh = io.BytesIO(raw)
    pickled = FileFormatError(
        f"Array {key!r} in {name!r} holds Python objects, which NumPy stores as a pickle. "
        "Pickles can run arbitrary code, so uploaded files are never unpickled.",
        _NPZ_HINT,
    )
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            _, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            dtype = None
        if dtype is not None and dtype.hasobject:
            raise pickled
        fh.seek(0)
        return np.lib.format.read_array(fh, allow_pickle=False)
    except FileFormatError:
        raise
    except ValueError as err:
        if "allow_pickle" in str(err) or "pickle" in str(err).lower():
            raise pickled from None
        raise FileFormatError(f"Array {key!r} in {name!r} is corrupt ({err}).", _NPZ_HINT) from None
    except Exception as err:  # EOFError, struct errors, ... from damaged data
        raise FileFormatError(
            f"Array {key!r} in {name!r} is corrupt ({type(err).__name__}: {err}).", _NPZ_HINT
        ) from None


def load_npz(path_or_bytes, *, limits: Limits | None = None) -> ImageDataset:
    """Load images from a NumPy ``.npz`` archive.

    Expected arrays: ``x`` images as ``(N, H, W)`` or ``(N, C, H, W)`` (also ``(N, H, W, C)``),
    uint8 0..255 or float in [0, 1]; ``y`` labels (integers or strings); optionally ``domain``
    (integers or strings), ``class_names`` and ``domain_names`` (string arrays).

    Raises
    ------
    FileFormatError
        If the file is not an .npz, is corrupt, over a limit, contains object (pickled) arrays,
        or lacks ``x`` / ``y``.
    DataError
        If the arrays are inconsistent (see :func:`~metalora.data.arrays.dataset_from_arrays`).
    """
    limits = limits or Limits()
    data, name = read_source(path_or_bytes, limits, "file")
    if data[:6] == b"\x93NUMPY":
        raise FileFormatError(f"{name!r} is a single .npy array, not an .npz archive of x and y.", _NPZ_HINT)
    if data[:1] == b"\x80":
        raise FileFormatError(
            f"{name!r} looks like a Python pickle. Pickles can run arbitrary code, so they are never loaded.",
            _NPZ_HINT,
        )
    if data[:2] != b"PK":
        raise FileFormatError(
            f"{name!r} is not an .npz file (it does not start like a ZIP archive).", _NPZ_HINT
        )
    zf = open_zip(data, name, kind=".npz archive")
    with zf:
        infos = check_zip(zf, limits, name)
        members = {i.filename[:-4]: i for i in infos if i.filename.endswith(".npy")}
        budget = ByteBudget(limits.max_uncompressed_bytes, repr(name))
        arrays: dict[str, np.ndarray] = {}
        for field, aliases in _ALIASES.items():
            key = next((a for a in aliases if a in members), None)
            if key is not None:
                arrays[field] = _parse_npy(read_member(zf, members[key], budget), key, name)
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise FileFormatError(
            f"{name!r} has no {' or '.join(repr(m) for m in missing)} array "
            f"(it contains: {bullet_list(sorted(members))}).",
            _NPZ_HINT,
        )
    for field in ("class_names", "domain_names"):
        if field in arrays and arrays[field].dtype.kind not in "US":
            raise DataError(
                f"{field} in {name!r} must be an array of strings.",
                f"Save {field} as np.array([...], dtype=str).",
            )
    return dataset_from_arrays(
        arrays["x"],
        arrays["y"],
        arrays.get("domain"),
        arrays.get("class_names"),
        arrays.get("domain_names"),
        name=name,
        limits=limits,
    )
