"""Colour and background-style domains, made for the colour "shapes" set.

These register themselves in :data:`~metalora.data.domains.DOMAINS` on import, next to the generic
shifts:

* ``palette_warm`` / ``palette_cool``: recolour an RGB image towards orange or blue tones while
  keeping its brightness pattern (so the shape stays visible);
* ``bg_stripes`` / ``bg_noise``: replace a plain background by diagonal stripes or by noise,
  leaving the foreground object alone.

The background is estimated per image as the median colour of the border pixels, which is
exact for the plain backgrounds of the shapes set and a reasonable guess for other images.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .domains import register_domain

__all__ = ["SHAPES_DEMO_DOMAINS", "background_mask"]

#: A four-domain demo mix for the colour shapes set.
SHAPES_DEMO_DOMAINS: tuple[str, ...] = ("clean", "palette_warm", "palette_cool", "bg_stripes")

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)[None, :, None, None]  # (1, 3, 1, 1)


def _palette(x: np.ndarray, severity: float, tint: tuple[float, float, float], name: str) -> np.ndarray:
    if x.shape[1] != 3:
        raise DataError(
            f"The {name} domain recolours RGB images, but these have {x.shape[1]} channel(s).",
            "Use it with a colour data set (e.g. 'shapes'), or pick a generic domain such as inverted.",
        )
    luma = (x * _LUMA).sum(axis=1, keepdims=True)  # (N, 1, H, W)
    tinted = np.clip(0.15 + 1.1 * luma, 0.0, 1.0) * np.asarray(tint, dtype=np.float32)[None, :, None, None]
    a = 0.8 * severity
    return (1.0 - a) * x + a * tinted


@register_domain("palette_warm")
def _palette_warm(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Recolour towards warm (orange) tones; severity sets the blend weight (0.8 at 1)."""
    return _palette(x, severity, (1.0, 0.62, 0.25), "palette_warm")


@register_domain("palette_cool")
def _palette_cool(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Recolour towards cool (blue) tones; severity sets the blend weight (0.8 at 1)."""
    return _palette(x, severity, (0.25, 0.6, 1.0), "palette_cool")


def background_mask(x: np.ndarray, tol: float = 0.12) -> tuple[np.ndarray, np.ndarray]:
    """Estimate each image's background colour and the pixels that show it.

    Returns
    -------
    mask : np.ndarray
        bool, shape ``(N, 1, H, W)``: True where the pixel is within ``tol`` of the background.
    colour : np.ndarray
        float32, shape ``(N, C, 1, 1)``: median colour of the border pixels.
    """
    border = np.concatenate(
        [x[:, :, 0, :], x[:, :, -1, :], x[:, :, 1:-1, 0], x[:, :, 1:-1, -1]], axis=-1
    )  # (N, C, 2H + 2W - 4)
    colour = np.median(border, axis=-1)[:, :, None, None].astype(np.float32)
    mask = (np.abs(x - colour) < tol).all(axis=1, keepdims=True)
    return mask, colour


@register_domain("bg_stripes")
def _bg_stripes(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Diagonal stripes over the background; their contrast grows with severity."""
    _, _, h, w = x.shape
    mask, colour = background_mask(x)
    period = max(4, min(h, w) // 5)
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    on = (((rows + cols) % period) < period // 2)[None, None]  # (1, 1, H, W)
    shift = 0.45 * severity
    stripe = np.where(colour > 0.5, colour - shift, colour + shift)
    return np.where(mask & on, stripe, x)


@register_domain("bg_noise")
def _bg_noise(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Uniform colour noise (amplitude ``0.4 * severity``) over the background only."""
    mask, colour = background_mask(x)
    noisy = colour + rng.uniform(-0.4 * severity, 0.4 * severity, size=x.shape).astype(np.float32)
    return np.where(mask, noisy, x)
