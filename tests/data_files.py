"""Tiny files in memory for the loader tests: NPZ, PNG, JPEG, ZIP archives, and a pickle that leaves a trace."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image


class PicklePayload:
    """Unpickling this object creates the file at ``path`` (a stand-in for arbitrary code): a test that
    finds no file knows the pickle never ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def good_xy(n=12, h=6, w=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
    y = np.arange(n) % classes
    return x, y


def png_bytes(size=(8, 8), mode="L", value=128) -> bytes:
    color = value if mode == "L" else (value, 255 - value, 30)
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def zip_bytes(entries: dict[str, bytes | None], compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP with the given entries; ``None`` makes a directory entry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            if data is None:
                zf.writestr(zipfile.ZipInfo(name if name.endswith("/") else name + "/"), b"")
            else:
                zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buf.getvalue()


def two_class_tree(prefix="") -> dict[str, bytes]:
    return {
        f"{prefix}cat/1.png": png_bytes(value=10),
        f"{prefix}cat/2.png": png_bytes((10, 6), value=20),
        f"{prefix}dog/1.png": png_bytes(value=200),
        f"{prefix}dog/2.jpg": jpeg_bytes(),
    }


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (9, 9), 220).save(buf, format="JPEG")
    return buf.getvalue()
