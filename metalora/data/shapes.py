"""The procedural "shapes" data set: ten classes of coloured shapes, generated with NumPy.

Each image shows one filled shape (circle, square, triangle, ...) of a random colour, size,
position and small tilt on a background of another random colour with a faint gradient.
Everything is drawn at once on coordinate grids (no per-image Python loop) with 2x2
supersampling for smooth edges, so ~2,000 images take well under a second, and the same seed
always gives the same images.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import DataError
from .base import ImageDataset

__all__ = ["SHAPE_CLASSES", "make_shapes"]

Array = np.ndarray
# Each shape is an implicit test on normalised coordinates (u, v) in roughly [-1, 1]^2, with v
# pointing down the image. They all fill a similar area, so size alone does not give them away.
_SHAPES: dict[str, Callable[[Array, Array], Array]] = {
    "circle": lambda u, v: u * u + v * v <= 0.85,
    "square": lambda u, v: np.maximum(np.abs(u), np.abs(v)) <= 0.75,
    "triangle": lambda u, v: (v <= 0.75) & (np.abs(u) * 1.75 <= v + 0.95),
    "cross": lambda u, v: (np.minimum(np.abs(u - v), np.abs(u + v)) <= 0.36) & (u * u + v * v <= 1.0),
    "plus": lambda u, v: (
        (np.minimum(np.abs(u), np.abs(v)) <= 0.26) & (np.maximum(np.abs(u), np.abs(v)) <= 0.9)
    ),
    "ring": lambda u, v: (u * u + v * v <= 1.0) & (u * u + v * v >= 0.36),
    "star": lambda u, v: np.hypot(u, v) <= 0.55 + 0.42 * np.cos(5.0 * np.arctan2(u, -v)),
    "diamond": lambda u, v: np.abs(u) + np.abs(v) <= 1.0,
    "crescent": lambda u, v: (u * u + v * v <= 1.0) & ((u - 0.5) ** 2 + v * v >= 0.6),
    "heart": lambda u, v: (
        ((1.1 * u) ** 2 + (0.25 - 1.1 * v) ** 2 - 1.0) ** 3 - (1.1 * u) ** 2 * (0.25 - 1.1 * v) ** 3 <= 0.0
    ),
}

#: Class names of the shapes set, in label order.
SHAPE_CLASSES: tuple[str, ...] = tuple(_SHAPES)

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _colours(rng: np.random.Generator, n: int) -> tuple[Array, Array]:
    """Background and foreground RGB colours, shape ``(n, 3)`` each, with clear brightness contrast."""
    bg = rng.uniform(0.05, 0.95, size=(n, 3)).astype(np.float32)
    fg = rng.uniform(0.0, 1.0, size=(n, 3)).astype(np.float32)
    low = np.abs((fg - bg) @ _LUMA) < 0.3
    dark_bg = (bg @ _LUMA) < 0.5
    fg = np.where((low & dark_bg)[:, None], 0.6 + 0.4 * fg, fg)
    fg = np.where((low & ~dark_bg)[:, None], 0.35 * fg, fg)
    return bg, fg


def make_shapes(samples_per_class: int = 200, image_size: int = 32, seed: int = 0) -> ImageDataset:
    """Generate the shapes set: ``10 * samples_per_class`` RGB images of ``image_size`` pixels.

    Parameters
    ----------
    samples_per_class : int
        Images per class (the set is exactly balanced).
    image_size : int
        Side of the square images, in pixels.
    seed : int
        Generator seed; equal arguments give identical arrays.

    Returns
    -------
    ImageDataset
        ``x`` of shape ``(N, 3, S, S)`` in [0, 1], one domain named ``"clean"``, shuffled order.
    """
    n_per = int(samples_per_class)
    if n_per < 1:
        raise DataError(f"samples_per_class={samples_per_class!r} must be at least 1.", "Use e.g. 200.")
    k = len(SHAPE_CLASSES)
    n, s, ss = n_per * k, int(image_size), 2
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, 0x5A4E5]))
    y = rng.permutation(np.repeat(np.arange(k, dtype=np.int64), n_per))

    radius = rng.uniform(0.26, 0.42, size=n) * s
    cx = rng.uniform(radius, s - radius)
    cy = rng.uniform(radius, s - radius)
    angle = np.deg2rad(rng.uniform(-15.0, 15.0, size=n))
    bg, fg = _colours(rng, n)
    grad_dir = rng.uniform(0.0, 2 * np.pi, size=n)

    grid = (np.arange(s * ss, dtype=np.float32) + 0.5) / ss  # supersampled pixel centres
    gx = grid[None, None, :]  # (1, 1, S*ss)
    gy = grid[None, :, None]  # (1, S*ss, 1)
    mask = np.zeros((n, s * ss, s * ss), dtype=np.float32)
    for c, name in enumerate(SHAPE_CLASSES):
        sel = np.flatnonzero(y == c)
        if not sel.size:
            continue
        cos = np.cos(angle[sel])[:, None, None].astype(np.float32)
        sin = np.sin(angle[sel])[:, None, None].astype(np.float32)
        r = radius[sel][:, None, None].astype(np.float32)
        dx = gx - cx[sel][:, None, None].astype(np.float32)
        dy = gy - cy[sel][:, None, None].astype(np.float32)
        u = (dx * cos + dy * sin) / r  # (n_c, S*ss, S*ss)
        v = (dy * cos - dx * sin) / r
        mask[sel] = _SHAPES[name](u, v)
    cover = mask.reshape(n, s, ss, s, ss).mean(axis=(2, 4))[:, None]  # (N, 1, S, S)

    pix = (np.arange(s, dtype=np.float32) + 0.5) / s - 0.5
    ramp = (
        np.cos(grad_dir)[:, None, None] * pix[None, None, :]
        + np.sin(grad_dir)[:, None, None] * pix[None, :, None]
    ).astype(np.float32)  # (N, S, S), in [-0.71, 0.71]
    background = bg[:, :, None, None] + 0.1 * ramp[:, None]  # (N, 3, S, S)
    x = background * (1.0 - cover) + fg[:, :, None, None] * cover
    x = np.clip(x, 0.0, 1.0).astype(np.float32)
    return ImageDataset(x, y, np.zeros(n, dtype=np.int64), list(SHAPE_CLASSES), ["clean"], name="shapes")
