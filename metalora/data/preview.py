"""A contact sheet of a data set: rows are domains, columns are classes.

The dashboard draws the returned uint8 array with whatever it likes (``st.image``, Plotly);
no plotting library is needed here.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .base import ImageDataset

__all__ = ["preview_grid"]

_GAP = 1  # pixels between images inside a cell
_PAD = 3  # pixels of frame around every cell
_FRAME = 255  # white frame / gaps
_EMPTY = 200  # light grey for a cell with no image of that class and domain


def preview_grid(
    ds: ImageDataset, per_cell: int = 1, max_classes: int | None = 10
) -> tuple[np.ndarray, list[str], list[str]]:
    """Tile example images into one picture: one row per domain, one column per class.

    Parameters
    ----------
    ds : ImageDataset
        The images to show.
    per_cell : int
        Images side by side in each cell (the first ones of that class and domain, in order).
    max_classes : int or None
        Show only the first this many classes (``None`` shows all).

    Returns
    -------
    image : np.ndarray
        uint8, shape ``(H', W', 3)``; grayscale images are repeated over RGB. Cell ``(r, c)``
        starts at row ``_PAD + r * cell_h`` with ``cell_h = H + 2 * _PAD`` (and likewise for
        columns, with ``cell_w = per_cell * (W + 1) - 1 + 2 * _PAD``). Cells with no image
        are light grey.
    row_labels : list of str
        Domain names, top to bottom.
    col_labels : list of str
        Class names, left to right.
    """
    per_cell = int(per_cell)
    if per_cell < 1:
        raise DataError(f"per_cell={per_cell} must be at least 1.", "Use e.g. per_cell=1.")
    n_cls = ds.num_classes if max_classes is None else max(1, min(int(max_classes), ds.num_classes))
    n_dom = ds.num_domains
    h, w = ds.image_size
    cell_h = h + 2 * _PAD
    cell_w = per_cell * (w + _GAP) - _GAP + 2 * _PAD
    sheet = np.full((n_dom * cell_h, n_cls * cell_w, 3), _FRAME, dtype=np.uint8)
    for r in range(n_dom):
        for c in range(n_cls):
            idx = np.flatnonzero((ds.domain == r) & (ds.y == c))[:per_cell]
            top = r * cell_h + _PAD
            for j in range(per_cell):
                left = c * cell_w + _PAD + j * (w + _GAP)
                if j < len(idx):
                    image = np.asarray(ds.x[int(idx[j])])  # (C, H, W): one image read (streamed sets too)
                    rgb = image if ds.channels == 3 else np.repeat(image, 3, axis=0)  # (3, H, W)
                    tile = np.round(rgb.transpose(1, 2, 0) * 255.0).astype(np.uint8)  # (H, W, 3)
                else:
                    tile = _EMPTY
                sheet[top : top + h, left : left + w] = tile
    return sheet, list(ds.domain_names), list(ds.class_names[:n_cls])
