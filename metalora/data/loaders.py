"""Loaders for user arrays: NumPy ``.npz`` archives and CSV tables of pixels.

Neither loader ever unpickles anything: ``.npz`` members are parsed with
``numpy.lib.format.read_array(..., allow_pickle=False)`` after their header has been checked
for object dtypes, so a crafted file cannot run code. Both accept a path, raw bytes, or an
upload object, and return an :class:`ImageDataset`; split it with
:func:`~metalora.data.split.split_dataset`.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from ..errors import DataError, FileFormatError, bullet_list
from .arrays import dataset_from_arrays
from .base import ImageDataset, Limits
from .safezip import check_zip, open_zip, read_member
from .source import ByteBudget, read_source

__all__ = ["load_csv", "load_npz"]

_NPZ_HINT = "Save it with np.savez('data.npz', x=images, y=labels), using numeric arrays (strings for names)."
_CHUNK_ROWS = 2048
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


def _image_shape(n_pixels: int, channels: int | None) -> tuple[int, int, int]:
    """``(C, H, W)`` of square images with ``n_pixels`` values, or raise :class:`DataError`."""
    options = (channels,) if channels else (1, 3)
    for c in options:
        if c not in (1, 3):
            raise DataError(f"channels={c!r} is not supported.", "Use channels=1 (grayscale) or 3 (RGB).")
        side = math.isqrt(n_pixels // c)
        if n_pixels % c == 0 and side * side * c == n_pixels and side >= 2:
            return c, side, side
    raise DataError(
        f"The CSV has {n_pixels} pixel columns, which do not form a square image"
        + (f" with {channels} channel(s)." if channels else " (grayscale or RGB)."),
        "Give H*W columns for grayscale (e.g. 784 = 28x28) or 3*H*W for RGB in channel-first order "
        "(and pass channels=3); keep only the label (and optional 'domain') column besides pixels.",
    )


def _parse_pixels(rows: list[list[str]], lines: list[int], columns: list[str]) -> np.ndarray:
    """Convert pixel strings to float32, naming the row and column of the first bad cell."""
    try:
        values = np.array(rows, dtype=np.float32)
    except ValueError:
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                try:
                    float(cell)
                except ValueError:
                    raise DataError(
                        f"CSV line {lines[r]}, column {columns[c]!r}: {cell!r} is not a number.",
                        "Every pixel cell must be a number (0..255 or 0..1); fix or remove that row.",
                    ) from None
        raise DataError(
            f"CSV lines {lines[0]}-{lines[-1]} hold values that are not plain numbers.",
            "Write pixels as plain decimal numbers (e.g. 0, 127, 255 or 0.5).",
        ) from None
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = (int(i[0]) for i in np.nonzero(bad))
        raise DataError(
            f"CSV line {lines[r]}, column {columns[c]!r}: {rows[r][c]!r} is not a finite number.",
            "Fill in or remove missing (NaN) and infinite pixel values.",
        )
    return values


def load_csv(
    path_or_bytes, *, label_column: str = "label", channels: int | None = None, limits: Limits | None = None
) -> ImageDataset:
    """Load images from a CSV table: a header row, a label column, and one column per pixel.

    Pixel columns (all columns except ``label_column`` and an optional ``domain`` column) are
    read in order as a square image: ``H*W`` columns for grayscale, or ``3*H*W`` in channel-first
    order for RGB (pass ``channels`` to choose when both fit). Values 0..255 are scaled to [0, 1];
    values already in [0, 1] are kept. Labels may be integers or class names. Commas, semicolons
    and tabs are recognised as separators.

    Raises
    ------
    FileFormatError
        If the file is not UTF-8 text or not parseable as CSV.
    DataError
        For a missing label column, ragged rows, non-numeric, NaN or out-of-range cells (naming
        the line and column), a non-square pixel count, or label problems.
    """
    limits = limits or Limits()
    data, name = read_source(path_or_bytes, limits, "CSV file")
    if b"\x00" in data[:65536]:
        raise FileFormatError(f"{name!r} is a binary file, not a CSV text table.", "Upload a .csv text file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileFormatError(f"{name!r} is not UTF-8 text.", "Save the CSV as UTF-8 text.") from None
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        if header is None:
            raise DataError(f"{name!r} has no rows.", "Add a header row and one row per image.")
        header = [h.strip() for h in header]
        if label_column not in header:
            looks_numeric = all(_is_number(h) for h in header if h)
            raise DataError(
                f"{name!r} has no column named {label_column!r}"
                + (
                    " (its first row looks like data, not a header)."
                    if looks_numeric
                    else f"; columns: {bullet_list(header)}."
                ),
                "Add a header row naming the columns, or pass label_column='<name of the label column>'.",
            )
        label_at = header.index(label_column)
        domain_at = header.index("domain") if "domain" in header and label_column != "domain" else None
        pixel_at = [i for i in range(len(header)) if i not in (label_at, domain_at)]
        shape = _image_shape(len(pixel_at), channels)
        columns = [header[i] for i in pixel_at]
        labels: list[str] = []
        domains: list[str] = []
        chunks: list[np.ndarray] = []  # parsed pixel blocks, so we never hold all cells as strings
        pixels: list[list[str]] = []
        lines: list[int] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DataError(
                    f"CSV line {reader.line_num} has {len(row)} cells, but the header has {len(header)}.",
                    "Make every row as long as the header.",
                )
            if len(labels) >= limits.max_images:
                raise DataError(
                    f"{name!r} has more than {limits.max_images:,} rows.", "Use a smaller subset."
                )
            label = row[label_at].strip()
            if not label:
                raise DataError(
                    f"CSV line {reader.line_num}: the {label_column!r} cell is empty.", "Label every row."
                )
            labels.append(label)
            if domain_at is not None:
                domains.append(row[domain_at].strip())
            pixels.append([row[i] for i in pixel_at])
            lines.append(reader.line_num)
            if len(pixels) == _CHUNK_ROWS:
                chunks.append(_parse_pixels(pixels, lines, columns))
                pixels, lines = [], []
        if pixels:
            chunks.append(_parse_pixels(pixels, lines, columns))
    except csv.Error as err:
        raise FileFormatError(
            f"{name!r} is not a valid CSV file ({err}).", "Check the file's quoting and separators."
        ) from None
    if not labels:
        raise DataError(f"{name!r} has a header but no data rows.", "Add one row per image.")
    values = np.concatenate(chunks)  # (N, C*H*W) float32
    lo, hi = float(values.min()), float(values.max())
    if lo < 0 or hi > 255:
        raise DataError(
            f"{name!r}: pixel values must be 0..255 (or 0..1), found range [{lo:g}, {hi:g}].",
            "Rescale the pixels.",
        )
    if hi > 1.0:
        values /= 255.0
    x = values.reshape(len(labels), *shape)  # (N, C, H, W)
    y: np.ndarray = np.array(labels)
    if all(_is_int(s) for s in labels):
        y = np.array([int(s) for s in labels], dtype=np.int64)
    dom = None
    if domain_at is not None:
        dom = np.array(domains)
        if all(_is_int(s) for s in domains):
            dom = np.array([int(s) for s in domains], dtype=np.int64)
    return dataset_from_arrays(x, y, dom, name=name, limits=limits)


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True
