"""Built-in data sets, the ImageDataset container, splitting and the preview grid."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from metalora.data import (
    BUILTIN_DATASETS,
    DEFAULT_DEMO_DOMAINS,
    SHAPE_CLASSES,
    SHAPES_DEMO_DOMAINS,
    DataSplits,
    ImageDataset,
    load_builtin,
    load_digits_dataset,
    make_shapes,
    preview_grid,
    split_dataset,
)
from metalora.errors import DataError


def _id_dataset(n_per_class=(30, 20, 10), n_domains=1) -> ImageDataset:
    """Images whose first pixel encodes their index, so splits can be traced back."""
    n = sum(n_per_class)
    x = np.zeros((n, 1, 4, 4), np.float32)
    x[:, 0, 0, 0] = np.arange(n) / n
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    dom = np.arange(n) % n_domains
    return ImageDataset(
        x, y, dom, [f"c{i}" for i in range(len(n_per_class))], [f"d{i}" for i in range(n_domains)]
    )


# --- digits ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> DataSplits:
    return load_builtin("digits")


def test_builtin_names():
    assert BUILTIN_DATASETS == ("digits", "shapes")


def test_digits_sizes_shapes_and_range(digits):
    parts = (digits.train, digits.val, digits.test)
    assert sum(len(p) for p in parts) == 1797
    assert len(digits.val) == len(digits.test) == 270
    assert len(digits.train) == 1257
    for p in parts:
        assert p.x.shape[1:] == (1, 32, 32) and p.x.dtype == np.float32
        assert p.y.dtype == np.int64 and p.domain.dtype == np.int64
        assert p.x.min() >= 0.0 and p.x.max() <= 1.0 and p.x.max() > 0.9
        assert p.class_names == [str(i) for i in range(10)]
        assert p.domain_names == ["clean"] and (p.domain == 0).all()
    assert (
        digits.train.num_classes == 10 and digits.train.channels == 1 and digits.train.image_size == (32, 32)
    )


def test_digits_splits_are_stratified(digits):
    full = np.bincount(np.concatenate([digits.train.y, digits.val.y, digits.test.y]), minlength=10)
    for part, frac in ((digits.train, 0.70), (digits.val, 0.15), (digits.test, 0.15)):
        counts = part.class_counts()
        assert np.all(np.abs(counts - frac * full) <= 2.0), (part.name, counts)


def test_digits_are_the_real_sklearn_digits(digits):
    from sklearn.datasets import load_digits

    ref = load_digits().images / 16.0  # (1797, 8, 8)
    full = load_digits_dataset(32)
    pooled = full.x[:, 0].reshape(-1, 8, 4, 8, 4).mean(axis=(2, 4))  # back to 8x8 (a little smoother)
    a = (pooled - pooled.mean(axis=(1, 2), keepdims=True)).reshape(1797, -1)
    b = (ref - ref.mean(axis=(1, 2), keepdims=True)).reshape(1797, -1)
    corr = (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
    assert corr.min() > 0.9, corr.min()
    assert np.array_equal(full.y, load_digits().target)


def test_digits_deterministic_and_seed_dependent(digits):
    again = load_builtin("digits")
    assert np.array_equal(again.train.x, digits.train.x) and np.array_equal(again.test.y, digits.test.y)
    other = load_builtin("digits", seed=1)
    assert not np.array_equal(other.train.y, digits.train.y)


def test_digits_image_size_and_samples_per_class():
    s = load_builtin("digits", image_size=16, samples_per_class=20)
    assert s.train.x.shape[1:] == (1, 16, 16)
    total = np.bincount(np.concatenate([s.train.y, s.val.y, s.test.y]), minlength=10)
    assert (total == 20).all()


def test_digits_multi_domain_is_balanced_and_applied():
    s = load_builtin("digits", domains=DEFAULT_DEMO_DOMAINS, seed=3)
    assert sum(len(p) for p in (s.train, s.val, s.test)) == 1797
    for p in (s.train, s.val, s.test):
        assert p.domain_names == list(DEFAULT_DEMO_DOMAINS)
        counts = p.domain_counts()
        assert counts.max() - counts.min() <= 1, counts
        per_class = np.array([np.bincount(p.domain[p.y == c], minlength=4) for c in range(10)])
        assert (per_class.max(axis=1) - per_class.min(axis=1) <= 1).all()
    means = [s.train.x[s.train.domain == d].mean() for d in range(4)]
    assert means[1] > 0.5 > means[0]  # inverted digits are light on dark -> dark on light
    again = load_builtin("digits", domains=DEFAULT_DEMO_DOMAINS, seed=3)
    assert np.array_equal(again.val.x, s.val.x) and np.array_equal(again.val.domain, s.val.domain)


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"name": "mnist"}, "Unknown built-in data set"),
        ({"name": "digits", "domains": ("clean", "sepia")}, "Unknown domain"),
        ({"name": "digits", "domains": ("clean", "clean")}, "repeated"),
        ({"name": "digits", "severity": 0.0}, "severity"),
        ({"name": "digits", "image_size": 2}, "image_size"),
        ({"name": "digits", "image_size": 32.5}, "image_size"),
        ({"name": "digits", "samples_per_class": 2}, "samples_per_class"),
    ],
)
def test_load_builtin_bad_arguments(kwargs, phrase):
    name = kwargs.pop("name")
    with pytest.raises(DataError, match=phrase):
        load_builtin(name, **kwargs)


# --- shapes ---------------------------------------------------------------------------------------


def test_shapes_set_properties_and_speed():
    t0 = time.perf_counter()
    ds = make_shapes(200, 32, seed=0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0, elapsed
    assert ds.x.shape == (2000, 3, 32, 32) and ds.num_classes == 10 and len(SHAPE_CLASSES) == 10
    assert (ds.class_counts() == 200).all()
    assert ds.x.min() >= 0.0 and ds.x.max() <= 1.0
    # coloured, not gray: channels differ
    assert np.abs(ds.x[:, 0] - ds.x[:, 1]).mean() > 0.05
    # every image has a visible shape: the centre-ish region differs from the border colour
    assert (ds.x.reshape(2000, -1).std(axis=1) > 0.03).all()


def test_shapes_deterministic_and_seed_dependent():
    a, b, c = make_shapes(20, 24, seed=5), make_shapes(20, 24, seed=5), make_shapes(20, 24, seed=6)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)


def test_shapes_classes_differ_in_form():
    ds = make_shapes(100, 32, seed=0)
    # mean foreground silhouette per class: pixels far from the border colour
    border = np.median(np.concatenate([ds.x[:, :, 0], ds.x[:, :, -1]], axis=-1), axis=-1)  # (N, 3)
    fg = (np.abs(ds.x - border[:, :, None, None]).max(axis=1) > 0.15).mean(axis=(1, 2))  # (N,)
    per_class = np.array([fg[ds.y == c].mean() for c in range(10)])
    ring, circle = SHAPE_CLASSES.index("ring"), SHAPE_CLASSES.index("circle")
    assert per_class[ring] < per_class[circle]
    assert per_class.min() > 0.05


def test_load_builtin_shapes_with_its_domains():
    s = load_builtin("shapes", samples_per_class=30, domains=SHAPES_DEMO_DOMAINS, seed=2)
    assert s.train.channels == 3 and s.train.num_classes == 10
    assert sum(len(p) for p in (s.train, s.val, s.test)) == 300
    assert s.test.domain_names == list(SHAPES_DEMO_DOMAINS)
    warm = s.train.x[s.train.domain == 1]
    cool = s.train.x[s.train.domain == 2]
    assert warm[:, 0].mean() > warm[:, 2].mean() and cool[:, 2].mean() > cool[:, 0].mean()
    generic = load_builtin("shapes", samples_per_class=10, domains=("clean", "inverted", "rotate90+blur"))
    assert generic.train.channels == 3


# --- ImageDataset ---------------------------------------------------------------------------------


def test_image_dataset_validation_messages():
    x = np.zeros((4, 1, 4, 4), np.float32)
    y = np.array([0, 1, 0, 1])
    d = np.zeros(4, int)
    bad = x.copy()
    bad[2, 0, 1, 1] = np.nan
    cases = [
        (dict(x=bad), "Image 2 contains NaN"),
        (dict(x=x[:, 0]), "4-D array"),
        (dict(x=x + 2.0), r"\[0, 1\]"),
        (dict(x=x.astype(np.uint8)), "floating point"),
        (dict(y=np.array([0, 1, 2, 1])), "outside 0..1"),
        (dict(y=y[:3]), "one y"),
        (dict(domain=np.zeros(5, int)), "domain"),
        (dict(class_names=["a", "a"]), "duplicate"),
        (dict(x=np.zeros((4, 2, 4, 4), np.float32)), "1 or 3 channels"),
    ]
    for override, phrase in cases:
        kw = dict(x=x, y=y, domain=d, class_names=["a", "b"], domain_names=["clean"]) | override
        with pytest.raises(DataError, match=phrase):
            ImageDataset(**kw)


def test_image_dataset_subset_and_torch():
    ds = _id_dataset()
    sub = ds.subset([5, 1, 40])
    assert len(sub) == 3 and sub.y.tolist() == [0, 0, 1] and sub.class_names == ds.class_names
    assert len(ds.subset(ds.y == 2)) == 10 and len(ds.subset(slice(0, 7))) == 7
    t = ds.torch_dataset()
    xb, yb, db = t[0]
    assert xb.dtype == torch.float32 and yb.dtype == torch.int64 and db.dtype == torch.int64
    assert len(t) == len(ds) and tuple(xb.shape) == (1, 4, 4)
    with pytest.raises(DataError, match="out of range"):
        ds.subset([1000])


# --- split_dataset --------------------------------------------------------------------------------


def test_split_is_a_stratified_partition_and_deterministic():
    ds = _id_dataset((40, 20, 60), n_domains=2)
    s = split_dataset(ds, 0.2, 0.1, seed=4)
    ids = [np.round(p.x[:, 0, 0, 0] * len(ds)).astype(int) for p in (s.train, s.val, s.test)]
    all_ids = np.concatenate(ids)
    assert len(all_ids) == len(ds) and len(np.unique(all_ids)) == len(ds)  # disjoint and complete
    assert len(s.val) == 24 and len(s.test) == 12
    assert s.val.class_counts().tolist() == [8, 4, 12]
    for p in (s.train, s.val, s.test):
        assert abs(int(p.domain_counts()[0]) - int(p.domain_counts()[1])) <= 2
    again = split_dataset(ds, 0.2, 0.1, seed=4)
    assert np.array_equal(again.test.x, s.test.x)
    assert not np.array_equal(split_dataset(ds, 0.2, 0.1, seed=5).test.x, s.test.x)


def test_split_errors():
    ds = _id_dataset((3, 3))
    with pytest.raises(DataError, match="too few"):
        split_dataset(ds.subset([0, 3]), 0.15, 0.15)
    with pytest.raises(DataError, match="leaves nothing"):
        split_dataset(ds, 0.5, 0.5)
    with pytest.raises(DataError, match="val_fraction"):
        split_dataset(ds, -0.1, 0.1)
    tiny = split_dataset(ds, 0.2, 0.2)
    assert set(tiny.train.y.tolist()) == {0, 1}  # every class keeps a training image


# --- preview_grid ---------------------------------------------------------------------------------


def test_preview_grid_layout():
    ds = _id_dataset((3, 2, 2), n_domains=2)
    img, rows, cols = preview_grid(ds, per_cell=2, max_classes=2)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert rows == ["d0", "d1"] and cols == ["c0", "c1"]
    cell_h, cell_w = 4 + 6, 2 * 5 - 1 + 6
    assert img.shape[:2] == (2 * cell_h, 2 * cell_w)
    # class c1 / domain d0 has one image (index 4 -> pixel value 4/7); the second slot is empty grey
    top, left = 3, cell_w + 3
    assert img[top, left, 0] == round(4 / 7 * 255)
    assert (img[top : top + 4, left + 5 : left + 9] == 200).all()
