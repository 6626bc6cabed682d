"""Colour-blind-safe colours for every figure.

Categories use the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), distinguishable
under the common colour-vision deficiencies; beyond its 8 colours, Paul Tol's "muted" scheme
(Tol 2021, SRON technical note) continues it, and :func:`symbols` adds marker shapes so that categories
never rely on colour alone. Signed values use the ColorBrewer RdBu diverging scale (rated colour-blind
safe by ColorBrewer).
"""

from __future__ import annotations

OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
)
TOL_MUTED: tuple[str, ...] = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
)
GREY = "#999999"
DIVERGING = "RdBu_r"  # blue = below the centre, red = above
SYMBOLS: tuple[str, ...] = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "x",
    "triangle-down",
    "cross",
    "star",
    "hexagon",
    "pentagon",
)

#: Fixed colours for the decomposition methods, so CP / Tucker / TR look the same in every figure.
METHOD_COLOURS = {"cp": OKABE_ITO[0], "tucker": OKABE_ITO[1], "tr": OKABE_ITO[2]}


def categorical(n: int) -> list[str]:
    """``n`` distinct colour-blind-safe colours: Okabe-Ito first, then Tol muted, then repeated."""
    base = list(OKABE_ITO) + list(TOL_MUTED)
    return [base[i % len(base)] for i in range(max(0, int(n)))]


def symbols(n: int) -> list[str]:
    """``n`` marker symbols, a second cue next to colour."""
    return [SYMBOLS[i % len(SYMBOLS)] for i in range(max(0, int(n)))]


def with_alpha(hex_colour: str, alpha: float) -> str:
    """``"#RRGGBB"`` to an ``rgba(...)`` string with opacity ``alpha``."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"
