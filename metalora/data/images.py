"""Decoding one image file safely with Pillow.

The pixel count is read from the header (``Image.open`` is lazy) and checked against our own
limit *before* any pixel data is decoded, so a small file that claims to be a gigapixel image
is refused without allocating memory for it. Every decoder failure, whatever its type, becomes a
:class:`FileFormatError` that names the file.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..errors import FileFormatError
from .base import Limits

__all__ = ["IMAGE_EXTENSIONS", "decode_image", "is_image_name", "probe_image"]

#: File extensions accepted as images inside archives and folders.
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
)
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_WIDE_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


def is_image_name(filename: str) -> bool:
    """True if ``filename`` has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    dot = filename.rfind(".")
    return dot >= 0 and filename[dot:].lower() in IMAGE_EXTENSIONS


def _to_unit_array(im: Image.Image, size: int, gray: bool) -> np.ndarray:
    """Resize a decoded image to ``size x size`` (bilinear) and return float32 ``(size, size, C)``."""
    if im.mode in _WIDE_MODES:  # 16/32-bit grayscale: scale to [0, 1] ourselves, PIL would clip at 255
        arr = np.asarray(im, dtype=np.float32)
        top = float(arr.max()) if arr.size else 1.0
        scale = 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else 65535.0
        im = Image.fromarray(np.clip(arr / scale, 0.0, 1.0).astype(np.float32), mode="F")
        out = np.asarray(im.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
        return np.clip(out, 0.0, 1.0)[:, :, None]
    if "A" in im.mode or "a" in im.mode or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)  # transparent areas become white
    im = im.convert("L" if gray else "RGB")
    out = np.asarray(im.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    return out[:, :, None] if gray else out


def _open_checked(fp, label: str, limits: Limits) -> Image.Image:
    """``Image.open`` (header only) and the pixel-count check, before any pixel is decoded."""
    try:
        im = Image.open(fp)  # lazy: parses the header only
    except Image.DecompressionBombError:  # Pillow's own hard cap, far above ours by default
        raise FileFormatError(
            f"{label!r} declares an image of more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels, over the "
            f"limit of {limits.max_pixels_per_image:,} pixels per image.",
            "Downscale it (the model works on small images anyway) or remove it.",
        ) from None
    width, height = im.size
    if width < 1 or height < 1:
        raise FileFormatError(f"{label!r} has an empty ({width}x{height}) image.", "Remove it.")
    if width * height > limits.max_pixels_per_image:
        raise FileFormatError(
            f"{label!r} is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{limits.max_pixels_per_image:,} pixels per image.",
            "Downscale it (the model works on small images anyway) or remove it.",
        )
    return im


def _unreadable(label: str, err: Exception) -> FileFormatError:
    return FileFormatError(
        f"{label!r} is not a readable image ({type(err).__name__}: {err}).",
        "Remove it, or re-save it as PNG or JPEG.",
    )


def _is_gray(im: Image.Image) -> bool:
    return im.mode in _GRAY_MODES or (im.mode == "P" and _palette_is_gray(im))


def decode_image(data: bytes, label: str, image_size: int, limits: Limits) -> tuple[np.ndarray, bool]:
    """Decode ``data`` and resize it to a square ``image_size``.

    Non-square images are resized to the square directly (not cropped), so nothing is cut off.
    Transparent areas are composited on white; animated images contribute their first frame.

    Parameters
    ----------
    data : bytes
        The encoded file.
    label : str
        The file's name, used in error messages.
    image_size : int
        Output side in pixels.
    limits : Limits
        ``max_pixels_per_image`` is enforced from the header before decoding.

    Returns
    -------
    pixels : np.ndarray
        float32 ``(image_size, image_size, C)`` in [0, 1], C = 1 for grayscale, else 3.
    gray : bool
        Whether the source was grayscale.
    """
    try:
        im = _open_checked(io.BytesIO(data), label, limits)
        im.load()
        gray = _is_gray(im)
        return _to_unit_array(im, image_size, gray), gray
    except FileFormatError:
        raise
    except Exception as err:  # UnidentifiedImageError, OSError, DecompressionBomb*, SyntaxError, ...
        raise _unreadable(label, err) from None


def probe_image(path, label: str, limits: Limits) -> bool:
    """Whether the image file at ``path`` is grayscale, read from its header (pixels are decoded only
    for palette images, to look at the palette); the pixel count is checked against ``limits``.

    A streaming reader probes every file once, so a folder with an unreadable or oversized image is
    refused before training rather than in the middle of an epoch.

    Raises
    ------
    FileFormatError
        The file is not a readable image or has too many pixels.
    """
    try:
        with open(path, "rb") as fh:
            im = _open_checked(fh, label, limits)
            return _is_gray(im)
    except FileFormatError:
        raise
    except Exception as err:  # UnidentifiedImageError, OSError, ...
        raise _unreadable(label, err) from None


def _palette_is_gray(im: Image.Image) -> bool:
    """True if a palette image uses only gray colours."""
    pal = im.getpalette() or []
    rgb = np.asarray(pal[: len(pal) // 3 * 3]).reshape(-1, 3)
    return bool(rgb.size) and bool((rgb == rgb[:, :1]).all())
