"""The NPZ reader of :class:`~metalora.data.streaming.StreamingDataset`: :func:`open_npz`.

The images ``x`` of an NPZ saved with ``np.savez`` sit in one stored (uncompressed) ZIP member at a fixed
offset, found from the ZIP directory (:mod:`zipfile`) and the member's ``.npy`` header (parsed with
``allow_pickle=False``; object arrays are refused, so nothing is ever unpickled). One image is then one
positioned read of exactly its bytes (see :mod:`metalora.data.stream_sources` for why not ``numpy.memmap``).
A compressed NPZ cannot be read at an offset and is refused with the way out: save it with ``np.savez``, or
load it in memory with :func:`~metalora.data.load_npz`. The small arrays (labels, names) are read whole.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError, FileFormatError, bullet_list
from .archive import check_image_size
from .arrays import DEFAULT_DOMAIN, encode_labels
from .base import Limits, _as_names, check_label_counts
from .npzfile import _ALIASES, _NPZ_HINT, _parse_npy
from .stream_sources import STREAMING_LIMITS, PositionedFile
from .streaming import StreamingDataset, resize_chw

__all__ = ["open_npz"]


def _data_offset(fh, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start: after its local header, name and extra field."""
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise FileFormatError(f"The ZIP entry {info.filename!r} is damaged.", _NPZ_HINT)
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    return info.header_offset + 30 + name_len + extra_len


class NpzReader:
    """Images of an uncompressed NPZ, one positioned read per image (see :func:`open_npz`)."""

    def __init__(self, path, offset, shape, dtype, layout, y, domain, classes, domains, size):
        self.file = PositionedFile(path)
        self.offset, self.item_shape, self.dtype, self.layout = offset, tuple(shape[1:]), dtype, layout
        self.item_bytes = int(np.prod(self.item_shape)) * dtype.itemsize
        self.n = int(shape[0])
        self.y, self.domain, self.class_names, self.domain_names = y, domain, classes, domains
        self.name = Path(path).name
        native = self.item_shape[-2:] if layout != "nhwc" else self.item_shape[:2]
        self.channels = 1 if layout == "nhw" else int(self.item_shape[0 if layout == "nchw" else 2])
        self.image_size = tuple(int(s) for s in native) if size is None else (size, size)

    def __len__(self) -> int:
        return self.n

    def read(self, i: int) -> np.ndarray:
        raw = self.file.pread(self.item_bytes, self.offset + i * self.item_bytes)
        x = np.frombuffer(raw, self.dtype).reshape(self.item_shape)
        x = x[None] if self.layout == "nhw" else x.transpose(2, 0, 1) if self.layout == "nhwc" else x
        kind = self.dtype.kind
        if kind == "f":
            lo, hi = np.nanmin(x, initial=0.0), np.nanmax(x, initial=0.0)
            if lo < -1e-6 or hi > 1.0 + 1e-6:
                raise DataError(
                    f"{self.name!r}: image {i} has pixels in [{lo:.4g}, {hi:.4g}]; float pixels must lie in [0, 1].",
                    "Divide 0..255 values by 255 (or store them as uint8), and rescale other ranges to [0, 1].",
                )
            img = np.clip(x, 0.0, 1.0).astype(np.float32)  # NaN stays NaN: training refuses the batch
        else:
            if kind in "iu" and (x.min() < 0 or x.max() > 255):
                raise DataError(
                    f"{self.name!r}: image {i} has integer pixels outside 0..255.",
                    "Store 8-bit images as uint8, or floats scaled to [0, 1].",
                )
            img = x.astype(np.float32) / (1.0 if kind == "b" else 255.0)
        return resize_chw(img, self.image_size)


def open_npz(path, *, image_size: int | None = None, limits: Limits | None = None) -> StreamingDataset:
    """Stream the images ``x`` of an NPZ saved with ``np.savez`` (labels ``y``, optional ``domain``,
    ``class_names``, ``domain_names``, as :func:`~metalora.data.load_npz` reads them).

    ``x`` is ``(N, H, W)``, ``(N, C, H, W)`` or ``(N, H, W, C)``, uint8 0..255, bool or float in
    [0, 1], in C order. ``image_size`` resizes the images to that square (``None`` keeps them).

    Raises
    ------
    FileFormatError
        Not an NPZ, ``x`` compressed (``np.savez_compressed``) or in Fortran order, object (pickled)
        arrays, ``x`` or ``y`` missing, a damaged member.
    DataError
        Inconsistent arrays or labels, or data over the limits.
    """
    limits = limits or STREAMING_LIMITS
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(f"The file {str(path)!r} does not exist.", "Check the path.")
    size = None if image_size is None else check_image_size(image_size)
    name = p.name
    try:
        zf = zipfile.ZipFile(p)
    except Exception as err:  # BadZipFile, OSError, ...
        raise FileFormatError(
            f"{name!r} is not an .npz archive ({type(err).__name__}: {err}).", _NPZ_HINT
        ) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_zip_entries:
            raise FileFormatError(f"{name!r} has {len(infos):,} entries.", _NPZ_HINT)
        members = {i.filename[:-4]: i for i in infos if i.filename.endswith(".npy")}
        key = {f: next((a for a in al if a in members), None) for f, al in _ALIASES.items()}
        missing = [f for f in ("x", "y") if key[f] is None]
        if missing:
            raise FileFormatError(
                f"{name!r} has no {' or '.join(repr(m) for m in missing)} array "
                f"(it contains: {bullet_list(sorted(members))}).",
                _NPZ_HINT,
            )
        xinfo = members[key["x"]]
        if xinfo.compress_type != zipfile.ZIP_STORED:
            raise FileFormatError(
                f"{name!r} is compressed (saved with np.savez_compressed), so its images cannot be read one "
                "at a time.",
                "Save it with np.savez (not np.savez_compressed) to stream it, or load it into memory with "
                "metalora.data.load_npz as before.",
            )
        small = {}
        for field in ("y", "domain", "class_names", "domain_names"):
            if key[field] is not None:
                info = members[key[field]]
                if info.file_size > limits.max_upload_bytes:
                    raise FileFormatError(f"Array {key[field]!r} in {name!r} is too large.", _NPZ_HINT)
                small[field] = _parse_npy(zf.read(info), key[field], name)
    with open(p, "rb") as fh:
        fh.seek(_data_offset(fh, xinfo))
        try:
            version = np.lib.format.read_magic(fh)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }
            if version not in read_header:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = read_header[version](fh)
        except Exception as err:
            raise FileFormatError(f"Array {key['x']!r} in {name!r} is corrupt ({err}).", _NPZ_HINT) from None
        offset = fh.tell()
    if dtype.hasobject or dtype.kind not in "biuf":
        raise FileFormatError(
            f"Array {key['x']!r} in {name!r} has dtype {dtype}; pixels must be numbers.", _NPZ_HINT
        )
    if fortran and len(shape) > 1:
        raise FileFormatError(
            f"Array {key['x']!r} in {name!r} is stored in Fortran order, which cannot be read image by image.",
            "Save np.ascontiguousarray(x) instead.",
        )
    if len(shape) == 3:
        layout = "nhw"
    elif len(shape) == 4 and shape[1] in (1, 3):
        layout = "nchw"
    elif len(shape) == 4 and shape[3] in (1, 3):
        layout = "nhwc"
    else:
        raise DataError(
            f"{name!r}: images have shape {shape}.",
            "Use (N, H, W), (N, C, H, W) or (N, H, W, C) with C = 1 or 3.",
        )
    n = int(shape[0])
    if offset + n * int(np.prod(shape[1:])) * dtype.itemsize > p.stat().st_size:
        raise FileFormatError(f"Array {key['x']!r} in {name!r} is truncated.", _NPZ_HINT)
    hw = shape[1:3] if layout == "nhwc" else shape[-2:]
    if int(np.prod(hw)) > limits.max_pixels_per_image:
        raise DataError(
            f"{name!r}: images are {hw[0]}x{hw[1]} pixels, over the limit.", "Downscale them first."
        )
    for field in ("class_names", "domain_names"):
        if field in small and small[field].dtype.kind not in "US":
            raise DataError(
                f"{field} in {name!r} must be an array of strings.",
                f"Save {field} as np.array([...], dtype=str).",
            )
    y, classes = encode_labels(small["y"], small.get("class_names"), n, "class labels", repr(name))
    if "domain" in small:
        d, domains = encode_labels(small["domain"], small.get("domain_names"), n, "domain labels", repr(name))
    else:
        d = np.zeros(n, np.int64)
        domains = [DEFAULT_DOMAIN] if "domain_names" not in small else [str(s) for s in small["domain_names"]]
    classes, domains = _as_names(classes, "class_names"), _as_names(domains, "domain_names")
    if d.size and d.max() >= len(domains):
        raise DataError(
            f"{name!r}: a domain label is {d.max()} but {len(domains)} domain names are declared."
        )
    check_label_counts(y, classes, limits=limits, source=repr(name))
    return StreamingDataset(NpzReader(p, offset, shape, dtype, layout, y, d, classes, domains, size))
