"""Loading images from a CSV table: a header row, a label column, one column per pixel.

Clean files take a fast path (NumPy's C parser); anything unusual (quoting, ragged rows, a
non-numeric or missing cell) falls back to a row-by-row parse whose errors name the exact line
and column, so the user can find and fix the cell.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from ..errors import DataError, FileFormatError, bullet_list
from .arrays import dataset_from_arrays
from .base import ImageDataset, Limits
from .source import read_source

__all__ = ["load_csv"]

_CHUNK_ROWS = 2048  # the slow path converts this many rows at a time, never holding all cells as str


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
    """Convert pixel strings to float32, naming the line and column of the first bad cell."""
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


class _Layout:
    """Where the label, domain and pixel columns are, found from the header row."""

    def __init__(self, header: list[str], label_column: str, channels: int | None, name: str):
        if label_column not in header:
            looks_numeric = all(_parses_as(h, float) for h in header if h)
            raise DataError(
                f"{name!r} has no column named {label_column!r}"
                + (
                    " (its first row looks like data, not a header)."
                    if looks_numeric
                    else f"; columns: {bullet_list(header)}."
                ),
                "Add a header row naming the columns, or pass label_column='<name of the label column>'.",
            )
        self.header = header
        self.label_column = label_column
        self.label_at = header.index(label_column)
        self.domain_at = header.index("domain") if "domain" in header and label_column != "domain" else None
        self.pixel_at = [i for i in range(len(header)) if i not in (self.label_at, self.domain_at)]
        self.shape = _image_shape(len(self.pixel_at), channels)


def _fast_parse(text: str, delimiter: str, layout: _Layout, max_images: int):
    """Parse a clean, unquoted table with NumPy; return None at the first irregularity."""
    if '"' in text:
        return None
    rows = [ln for ln in text.splitlines() if ln.strip()][1:]  # drop the header
    width = len(layout.header) - 1
    if not rows or len(rows) > max_images or any(ln.count(delimiter) != width for ln in rows):
        return None
    try:
        values = np.loadtxt(
            rows, delimiter=delimiter, usecols=layout.pixel_at, dtype=np.float32, ndmin=2, comments=None
        )
    except ValueError:
        return None
    if values.shape[0] != len(rows) or not np.isfinite(values).all():
        return None
    n_head = max(layout.label_at, -1 if layout.domain_at is None else layout.domain_at) + 1
    heads = [ln.split(delimiter, n_head)[:n_head] for ln in rows]  # only the leading cells we need
    labels = [h[layout.label_at].strip() for h in heads]
    domains = [h[layout.domain_at].strip() for h in heads] if layout.domain_at is not None else []
    if not all(labels):
        return None
    return labels, domains, values


def _slow_parse(text: str, delimiter: str, layout: _Layout, max_images: int, name: str):
    """Row-by-row parse that reports the exact line and column of any problem."""
    header, columns = layout.header, [layout.header[i] for i in layout.pixel_at]
    labels: list[str] = []
    domains: list[str] = []
    chunks: list[np.ndarray] = []
    pixels: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(row for row in reader if any(cell.strip() for cell in row))  # the header
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(
                f"CSV line {reader.line_num} has {len(row)} cells, but the header has {len(header)}.",
                "Make every row as long as the header.",
            )
        if len(labels) >= max_images:
            raise DataError(f"{name!r} has more than {max_images:,} rows.", "Use a smaller subset.")
        label = row[layout.label_at].strip()
        if not label:
            raise DataError(
                f"CSV line {reader.line_num}: the {layout.label_column!r} cell is empty.", "Label every row."
            )
        labels.append(label)
        if layout.domain_at is not None:
            domains.append(row[layout.domain_at].strip())
        pixels.append([row[i] for i in layout.pixel_at])
        lines.append(reader.line_num)
        if len(pixels) == _CHUNK_ROWS:
            chunks.append(_parse_pixels(pixels, lines, columns))
            pixels, lines = [], []
    if pixels:
        chunks.append(_parse_pixels(pixels, lines, columns))
    if not labels:
        raise DataError(f"{name!r} has a header but no data rows.", "Add one row per image.")
    return labels, domains, np.concatenate(chunks)


def _codes(values: list[str]) -> np.ndarray:
    """Integer labels when every entry is an integer, otherwise the strings (class names)."""
    if all(_parses_as(s, int) for s in values):
        return np.array([int(s) for s in values], dtype=np.int64)
    return np.array(values)


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
        header = next((r for r in csv.reader(io.StringIO(first), delimiter=delimiter)), [])
        if not header:
            raise DataError(f"{name!r} has no rows.", "Add a header row and one row per image.")
        layout = _Layout([h.strip() for h in header], label_column, channels, name)
        parsed = _fast_parse(text, delimiter, layout, limits.max_images)
        if parsed is None:
            parsed = _slow_parse(text, delimiter, layout, limits.max_images, name)
    except csv.Error as err:
        raise FileFormatError(
            f"{name!r} is not a valid CSV file ({err}).", "Check the file's quoting and separators."
        ) from None
    labels, domains, values = parsed  # values: (N, C*H*W) float32
    lo, hi = float(values.min()), float(values.max())
    if lo < 0 or hi > 255:
        raise DataError(
            f"{name!r}: pixel values must be 0..255 (or 0..1), found range [{lo:g}, {hi:g}].",
            "Rescale the pixels.",
        )
    if hi > 1.0:
        values /= 255.0
    x = values.reshape(len(labels), *layout.shape)  # (N, C, H, W)
    dom = _codes(domains) if layout.domain_at is not None else None
    return dataset_from_arrays(x, _codes(labels), dom, name=name, limits=limits)


def _parses_as(s: str, kind: type) -> bool:
    """True when ``kind(s)`` (``int`` or ``float``) accepts the text."""
    try:
        kind(s)
    except ValueError:
        return False
    return True
