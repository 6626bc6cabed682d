"""Deterministic, stratified train / validation / test splitting."""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .base import DataSplits, ImageDataset

__all__ = ["split_dataset", "split_indices", "stratified_partition"]


def _check_fraction(value: float, what: str) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise DataError(
            f"{what}={value!r} is not a number.", f"Give {what} as a fraction such as 0.15."
        ) from None
    if not (0.0 <= f < 1.0) or not np.isfinite(f):
        raise DataError(f"{what}={value!r} is outside [0, 1).", f"Give {what} as a fraction such as 0.15.")
    return f


def stratified_partition(
    groups: np.ndarray, fractions: list[float], seed: int = 0, keep_first: bool = True
) -> list[np.ndarray]:
    """Partition indices ``0..len(groups)-1`` into parts of the given fractions, per group.

    Within every group (e.g. a class) the members are shuffled with ``seed`` and dealt to the
    parts; the per-part counts are rounded with a running carry across groups, so the overall
    totals match the fractions to within one image while each group is split proportionally.

    Parameters
    ----------
    groups : np.ndarray
        Group key per item, shape ``(N,)``.
    fractions : list of float
        Fraction for each part after the first; part 0 receives the remainder.
    seed : int
        Seed for the shuffles; equal inputs and seed give equal output.
    keep_first : bool
        Keep at least one member of every non-empty group in part 0 (the training part), so no
        class is absent from training.

    Returns
    -------
    list of np.ndarray
        ``len(fractions) + 1`` sorted int64 index arrays.
    """
    groups = np.asarray(groups)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    expected = np.zeros(len(fractions))
    given = np.zeros(len(fractions), dtype=np.int64)
    for g in np.unique(groups):
        members = rng.permutation(np.flatnonzero(groups == g))
        n = len(members)
        expected += n * np.asarray(fractions, dtype=float)
        want = np.maximum(np.round(expected).astype(np.int64) - given, 0)
        room = n - 1 if keep_first else n
        for k in range(len(want) - 1, -1, -1):  # trim the later parts first when the group is small
            excess = int(want.sum()) - room
            if excess <= 0:
                break
            want[k] -= min(excess, int(want[k]))
        given += want
        start = 0
        for k, m in enumerate(want):
            parts[k + 1].append(members[start : start + m])
            start += int(m)
        parts[0].append(members[start:])
    return [np.sort(np.concatenate(p)).astype(np.int64) if p else np.zeros(0, np.int64) for p in parts]


def split_indices(
    y: np.ndarray,
    domain: np.ndarray,
    num_domains: int,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    label: str = "The data set",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted ``(train, val, test)`` index arrays, stratified by class and domain (see :func:`split_dataset`).

    Works on the labels alone, so a streaming data set is split without reading a pixel.

    Raises
    ------
    DataError
        If a fraction is outside ``[0, 1)``, the fractions sum to 1 or more, or the data set is
        too small to give every requested split at least one image.
    """
    vf = _check_fraction(val_fraction, "val_fraction")
    tf = _check_fraction(test_fraction, "test_fraction")
    if vf + tf >= 1.0:
        raise DataError(
            f"val_fraction + test_fraction = {vf + tf:.3g} leaves nothing for training.",
            "Keep their sum below 1 (e.g. 0.15 and 0.15).",
        )
    keys = np.asarray(y).astype(np.int64) * max(int(num_domains), 1) + np.asarray(domain)
    train_idx, val_idx, test_idx = stratified_partition(keys, [vf, tf], seed=seed)
    for part, frac, idx in (
        ("validation", vf, val_idx),
        ("test", tf, test_idx),
        ("training", 1.0, train_idx),
    ):
        if frac > 0 and len(idx) == 0:
            raise DataError(
                f"{label} has only {len(keys)} images, too few to give the {part} split any.",
                "Add more images, or set that split's fraction to 0.",
            )
    return train_idx, val_idx, test_idx


def split_dataset(
    ds: ImageDataset, val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> DataSplits:
    """Split ``ds`` into train / val / test, stratified by class and (when present) domain.

    Stratifying keeps every class (and every class-domain pair) in the same proportion in each
    split, so validation accuracy is not skewed by an unlucky draw. The split is deterministic
    for a given ``seed``, and every class with any images keeps at least one in ``train``.
    :func:`metalora.data.streaming.split_streaming` gives the same indices for a streaming data set.

    Raises
    ------
    DataError
        If a fraction is outside ``[0, 1)``, the fractions sum to 1 or more, or the data set is
        too small to give every requested split at least one image.
    """
    parts = split_indices(
        ds.y, ds.domain, ds.num_domains, val_fraction, test_fraction, seed, ds.name or "The data set"
    )
    prefix = f"{ds.name}/" if ds.name else ""
    out = []
    for idx, tag in zip(parts, ("train", "val", "test"), strict=True):
        sub = ds.subset(idx)
        sub.name = prefix + tag
        out.append(sub)
    return DataSplits(*out)
