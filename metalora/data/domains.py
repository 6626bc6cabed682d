"""Synthetic domain shifts: the registry :data:`DOMAINS`, :func:`apply_domain` and
:func:`make_multi_domain`.

MetaLoRA adapts its low-rank update to each input. To show that, the demos need inputs that come
from visibly different *domains* (the same digit, inverted or rotated or blurred). Each domain is a
function ``fn(x, severity, rng) -> x`` on a batch ``(N, C, H, W)`` of float images in ``[0, 1]``;
names can be composed with ``+`` (``"rotate90+noise"`` applies both, left to right).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from ..errors import DataError, bullet_list
from .base import ImageDataset

__all__ = [
    "DEFAULT_DEMO_DOMAINS",
    "DOMAINS",
    "DomainFn",
    "apply_domain",
    "make_multi_domain",
    "parse_domain",
    "register_domain",
]

DomainFn = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]

#: Registry of domain shifts by name. Every function maps ``(N, C, H, W)`` float32 in [0, 1] to the
#: same shape; ``severity`` in (0, 1] scales the effect where that makes sense.
DOMAINS: dict[str, DomainFn] = {}

#: The default four-domain demo mix: one clean domain and three strong, easily seen shifts.
DEFAULT_DEMO_DOMAINS: tuple[str, ...] = ("clean", "inverted", "rotate90", "mirror")


def register_domain(name: str, fn: DomainFn | None = None):
    """Add ``fn`` to :data:`DOMAINS` under ``name`` (usable as a decorator).

    The figures, the report and the dashboard show a library domain by its display name
    (:data:`metalora.i18n.DOMAIN_NAMES`, every built-in domain has one); a domain registered here keeps its
    ``name`` there.
    """
    if "+" in name or not name.strip():
        raise ValueError(f"Invalid domain name {name!r}: it must be non-empty and must not contain '+'.")

    def deco(f: DomainFn) -> DomainFn:
        DOMAINS[name] = f
        return f

    return deco(fn) if fn is not None else deco


# --- the generic domains (work on 1- and 3-channel images) -------------------------------------


@register_domain("clean")
def _clean(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """No change (the source domain)."""
    return x.copy()


@register_domain("inverted")
def _inverted(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Photographic negative, ``1 - x``. Discrete: severity is not used."""
    return 1.0 - x


def _require_square(x: np.ndarray, what: str) -> None:
    if x.shape[-2] != x.shape[-1]:
        raise DataError(
            f"The {what} domain needs square images, these are {x.shape[-2]}x{x.shape[-1]}.",
            "Resize the images to a square size, or use a domain such as mirror or rotate180.",
        )


@register_domain("rotate90")
def _rotate90(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Quarter turn counter-clockwise, as ``np.rot90`` on each ``H x W`` plane. Severity not used."""
    _require_square(x, "rotate90")
    return np.rot90(x, k=1, axes=(-2, -1))


@register_domain("rotate180")
def _rotate180(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Half turn. Severity not used."""
    return np.rot90(x, k=2, axes=(-2, -1))


@register_domain("mirror")
def _mirror(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Left-right flip (reverses the width axis). Severity not used."""
    return x[..., ::-1]


@register_domain("noise")
def _noise(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian noise with standard deviation ``0.3 * severity``, clipped to [0, 1]."""
    return x + rng.normal(0.0, 0.3 * severity, size=x.shape).astype(np.float32)


def gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of the last two axes of ``x`` (edges reflected)."""
    radius = max(1, math.ceil(3.0 * sigma))
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel = (kernel / kernel.sum()).astype(np.float32)
    out = x
    for axis in (-2, -1):
        size = out.shape[axis]
        mode = "reflect" if radius < size else "edge"
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode=mode)
        acc = np.zeros_like(out)
        for i, k in enumerate(kernel):
            acc += k * np.take(padded, np.arange(i, i + size), axis=axis)
        out = acc
    return out


@register_domain("blur")
def _blur(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur; sigma grows with severity and image size (2 px at 32x32, severity 1)."""
    sigma = 0.4 + severity * max(x.shape[-2:]) / 20.0
    return gaussian_blur(x, sigma)


@register_domain("low_contrast")
def _low_contrast(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Pull every pixel towards the image mean, shrinking contrast by ``1 - 0.75 * severity``."""
    mean = x.mean(axis=(-3, -2, -1), keepdims=True)
    return mean + (x - mean) * (1.0 - 0.75 * severity)


@register_domain("occlusion")
def _occlusion(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """A mid-grey square (side 25-50 % of the image, growing with severity) at a random place."""
    n, _, h, w = x.shape
    side = max(1, round((0.25 + 0.25 * severity) * min(h, w)))
    top = rng.integers(0, h - side + 1, size=n)[:, None, None, None]
    left = rng.integers(0, w - side + 1, size=n)[:, None, None, None]
    rows = np.arange(h)[None, None, :, None]
    cols = np.arange(w)[None, None, None, :]
    inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
    return np.where(inside, np.float32(0.5), x)


# --- applying domains ---------------------------------------------------------------------------


def parse_domain(domain: str) -> list[str]:
    """Split a (possibly composed) domain name into registered parts, or raise :class:`DataError`."""
    if not isinstance(domain, str) or not domain.strip():
        raise DataError(f"Domain {domain!r} is not a domain name.", f"Use one of {bullet_list(DOMAINS)}.")
    parts = [p.strip() for p in domain.split("+")]
    unknown = [p for p in parts if p not in DOMAINS]
    if unknown:
        raise DataError(
            f"Unknown domain {bullet_list(repr(u) for u in unknown)}"
            + (f" in {domain!r}." if len(parts) > 1 else "."),
            f"Use one of {bullet_list(DOMAINS, limit=40)}, or combine them with '+' (e.g. 'rotate90+noise').",
        )
    return parts


def _check_severity(severity: float) -> float:
    try:
        s = float(severity)
    except (TypeError, ValueError):
        s = float("nan")
    if not (0.0 < s <= 1.0):
        raise DataError(
            f"severity={severity!r} is outside (0, 1].", "Use a severity between 0 (exclusive) and 1."
        )
    return s


def apply_domain(x: np.ndarray, domain: str, severity: float = 1.0, rng=None) -> np.ndarray:
    """Apply the (possibly composed) ``domain`` shift to images ``x``.

    Parameters
    ----------
    x : np.ndarray
        Float images in [0, 1], shape ``(N, C, H, W)`` or a single ``(C, H, W)``.
    domain : str
        A name in :data:`DOMAINS`, or several joined with ``+``.
    severity : float
        Strength in (0, 1]. Discrete shifts (inverted, rotations, mirror) ignore it.
    rng : np.random.Generator or int or None
        Randomness source for stochastic shifts (noise, occlusion); an int seeds a new generator,
        so the same seed always gives the same output.

    Returns
    -------
    np.ndarray
        float32 array of the same shape as ``x``, clipped to [0, 1].
    """
    parts = parse_domain(domain)
    s = _check_severity(severity)
    arr = np.asarray(x, dtype=np.float32)
    single = arr.ndim == 3
    if single:
        arr = arr[None]
    if arr.ndim != 4:
        raise DataError(
            f"apply_domain needs images of shape (N, C, H, W) or (C, H, W), got {arr.shape}.",
            "Add the channel axis to grayscale images.",
        )
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    for part in parts:
        arr = np.asarray(DOMAINS[part](arr, s, gen), dtype=np.float32)
    arr = np.ascontiguousarray(np.clip(arr, 0.0, 1.0))
    return arr[0] if single else arr


def _domain_seed(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, index, 0x5EED]))


def make_multi_domain(
    ds: ImageDataset, domains: Iterable[str] | str, severity: float = 1.0, seed: int = 0
) -> ImageDataset:
    """Give every image of ``ds`` exactly one of ``domains`` and apply that shift to it.

    The assignment is balanced overall and within each class (counts differ by at most one) and,
    like the shifts themselves, deterministic for a ``seed``. The data set keeps its size; any
    domain labels ``ds`` already had are replaced by indices into ``domains``.

    Raises
    ------
    DataError
        For an unknown or repeated domain name, or a severity outside (0, 1].
    """
    names = [domains] if isinstance(domains, str) else list(domains)
    if not names:
        raise DataError("No domains were given.", "Pass at least one domain, e.g. ('clean',).")
    for name in names:
        parse_domain(name)
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise DataError(f"Domains are repeated: {bullet_list(dups)}.", "List each domain once.")
    s = _check_severity(severity)
    rng = _domain_seed(seed, 1 << 30)  # the assignment stream, apart from the per-domain ones
    assign = np.zeros(len(ds), dtype=np.int64)
    pos = 0
    for c in range(ds.num_classes):
        members = rng.permutation(np.flatnonzero(ds.y == c))
        assign[members] = (pos + np.arange(len(members))) % len(names)
        pos += len(members)
    x = np.empty_like(ds.x)
    for d, name in enumerate(names):
        idx = np.flatnonzero(assign == d)
        if idx.size:
            x[idx] = apply_domain(ds.x[idx], name, s, _domain_seed(seed, d))
    return ImageDataset(x, ds.y.copy(), assign, list(ds.class_names), names, name=ds.name)
