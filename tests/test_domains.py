"""Domain shifts: each does what its name says, deterministically, on 1- and 3-channel images."""

from __future__ import annotations

import numpy as np
import pytest

from metalora.data import DEFAULT_DEMO_DOMAINS, DOMAINS, ImageDataset, apply_domain, make_multi_domain
from metalora.errors import DataError

GENERIC = (
    "clean",
    "inverted",
    "rotate90",
    "rotate180",
    "mirror",
    "noise",
    "blur",
    "low_contrast",
    "occlusion",
)
STYLE = ("palette_warm", "palette_cool", "bg_stripes", "bg_noise")


def _images(n=6, c=1, s=16, seed=0) -> np.ndarray:
    """Smooth random images with a bright asymmetric blob (so flips and rotations are visible)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.2, 0.4, size=(n, c, s, s)).astype(np.float32)
    x[:, :, 2:6, 3:12] = 0.9
    return x


def _object_on_plain(n=4, s=16) -> np.ndarray:
    """RGB images: plain coloured background, a red rectangle off-centre (rows 2-7, cols 3-10)."""
    x = np.empty((n, 3, s, s), np.float32)
    x[:] = np.array([0.2, 0.5, 0.3], np.float32)[None, :, None, None]
    x[:, :, 2:8, 3:11] = np.array([0.9, 0.1, 0.1], np.float32)[None, :, None, None]
    return x


def test_registry_has_all_names():
    assert set(GENERIC) | set(STYLE) <= set(DOMAINS)
    assert DEFAULT_DEMO_DOMAINS == ("clean", "inverted", "rotate90", "mirror")


def test_clean_inverted_rotations_mirror_exact():
    x = _images()
    assert np.array_equal(apply_domain(x, "clean", 1.0, 0), x)
    np.testing.assert_allclose(apply_domain(x, "inverted", 1.0, 0), 1.0 - x, atol=1e-7)
    r90 = apply_domain(x, "rotate90", 1.0, 0)
    for i in range(len(x)):
        assert np.array_equal(r90[i, 0], np.rot90(x[i, 0]))
    assert np.array_equal(apply_domain(x, "rotate180", 1.0, 0), x[:, :, ::-1, ::-1])
    assert np.array_equal(apply_domain(x, "mirror", 1.0, 0), x[:, :, :, ::-1])
    assert not np.array_equal(r90, x) and not np.array_equal(apply_domain(x, "mirror"), x)


def test_noise_statistics_determinism_and_severity():
    x = np.full((20, 1, 16, 16), 0.5, np.float32)
    a = apply_domain(x, "noise", 1.0, rng=7)
    b = apply_domain(x, "noise", 1.0, rng=np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, apply_domain(x, "noise", 1.0, rng=8))
    assert abs(float((a - x).mean())) < 0.02
    assert 0.2 < float((a - x).std()) < 0.3  # sigma 0.3, a little clipped at 0 and 1
    assert float(apply_domain(x, "noise", 0.3, 7).std()) < 0.12


def test_blur_smooths_and_keeps_mean():
    x = _images(seed=1)
    out = apply_domain(x, "blur", 1.0, 0)

    def tv(a):
        return np.abs(np.diff(a, axis=-1)).mean() + np.abs(np.diff(a, axis=-2)).mean()

    assert tv(out) < 0.5 * tv(x)
    assert abs(float(out.mean() - x.mean())) < 0.02
    assert tv(apply_domain(x, "blur", 1.0, 0)) < tv(apply_domain(x, "blur", 0.2, 0))


def test_low_contrast_shrinks_spread_around_mean():
    x = _images()
    out = apply_domain(x, "low_contrast", 1.0, 0)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3)), atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 0.25 * x.std(axis=(1, 2, 3)), rtol=1e-4)


def test_occlusion_paints_one_grey_square():
    x = np.zeros((5, 1, 16, 16), np.float32)
    out = apply_domain(x, "occlusion", 1.0, 3)
    side = 8  # 50 % of 16 at severity 1
    for img in out[:, 0]:
        rows, cols = np.nonzero(img == 0.5)
        assert len(rows) == side * side
        assert rows.max() - rows.min() == side - 1 and cols.max() - cols.min() == side - 1
    assert np.array_equal(out, apply_domain(x, "occlusion", 1.0, 3))


@pytest.mark.parametrize("name", GENERIC + STYLE)
def test_every_domain_works_on_rgb_and_stays_in_range(name):
    x = _object_on_plain()
    out = apply_domain(x, name, 0.7, 0)
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert (name == "clean") == np.array_equal(out, x)  # every shift but clean changes the images


def test_palettes_recolour_rgb_and_refuse_gray():
    x = np.repeat(_images(c=1), 3, axis=1)  # gray RGB
    warm = apply_domain(x, "palette_warm", 1.0, 0)
    cool = apply_domain(x, "palette_cool", 1.0, 0)
    assert warm[:, 0].mean() > warm[:, 2].mean() + 0.2
    assert cool[:, 2].mean() > cool[:, 0].mean() + 0.2
    with pytest.raises(DataError, match="RGB images"):
        apply_domain(_images(c=1), "palette_warm", 1.0, 0)


@pytest.mark.parametrize("name", ["bg_stripes", "bg_noise"])
def test_background_styles_leave_the_object_alone(name):
    x = _object_on_plain()
    out = apply_domain(x, name, 1.0, 0)
    assert np.array_equal(out[:, :, 2:8, 3:11], x[:, :, 2:8, 3:11])
    changed = (out != x).any(axis=1)
    assert changed[:, 9:, :].mean() > 0.2  # the background did change


def test_composition_applies_left_to_right():
    x = _images()
    composed = apply_domain(x, "rotate90+noise", 1.0, 11)
    manual = apply_domain(apply_domain(x, "rotate90", 1.0, 0), "noise", 1.0, 11)
    assert np.array_equal(composed, manual)
    assert np.array_equal(apply_domain(x, " mirror + inverted ", 1.0, 0), 1.0 - x[..., ::-1])


def test_single_image_and_errors():
    img = _images(n=1)[0]  # (C, H, W)
    assert np.array_equal(apply_domain(img, "mirror", 1.0), img[..., ::-1])
    with pytest.raises(DataError, match="Unknown domain 'sepia'"):
        apply_domain(img, "clean+sepia")
    with pytest.raises(DataError, match="severity"):
        apply_domain(img, "noise", 0.0)
    with pytest.raises(DataError, match="severity"):
        apply_domain(img, "noise", 1.5)
    with pytest.raises(DataError, match="square"):
        apply_domain(np.zeros((1, 1, 8, 12), np.float32), "rotate90")
    with pytest.raises(DataError, match=r"\(N, C, H, W\)"):
        apply_domain(np.zeros((8, 8), np.float32), "mirror")


def _labelled(n_per_class=13, classes=3) -> ImageDataset:
    n = n_per_class * classes
    x = np.random.default_rng(0).uniform(0, 1, size=(n, 1, 8, 8)).astype(np.float32)
    y = np.repeat(np.arange(classes), n_per_class)
    return ImageDataset(x, y, np.zeros(n, int), [f"c{i}" for i in range(classes)], ["clean"], name="t")


def test_make_multi_domain_balanced_deterministic_and_correct():
    ds = _labelled()
    out = make_multi_domain(ds, DEFAULT_DEMO_DOMAINS, severity=1.0, seed=4)
    assert len(out) == len(ds) and out.domain_names == list(DEFAULT_DEMO_DOMAINS)
    counts = out.domain_counts()
    assert counts.max() - counts.min() <= 1
    for c in range(3):
        per = np.bincount(out.domain[out.y == c], minlength=4)
        assert per.max() - per.min() <= 1
    assert np.array_equal(out.y, ds.y)
    d = out.domain
    assert np.array_equal(out.x[d == 0], ds.x[d == 0])
    np.testing.assert_allclose(out.x[d == 1], 1.0 - ds.x[d == 1], atol=1e-7)
    assert np.array_equal(out.x[d == 2], np.rot90(ds.x[d == 2], axes=(-2, -1)))
    assert np.array_equal(out.x[d == 3], ds.x[d == 3][..., ::-1])
    again = make_multi_domain(ds, DEFAULT_DEMO_DOMAINS, severity=1.0, seed=4)
    assert np.array_equal(again.x, out.x) and np.array_equal(again.domain, out.domain)
    assert not np.array_equal(make_multi_domain(ds, DEFAULT_DEMO_DOMAINS, seed=5).domain, out.domain)


def test_make_multi_domain_errors():
    ds = _labelled()
    with pytest.raises(DataError, match="repeated"):
        make_multi_domain(ds, ["clean", "noise", "clean"])
    with pytest.raises(DataError, match="No domains"):
        make_multi_domain(ds, [])
    with pytest.raises(DataError, match="Unknown domain"):
        make_multi_domain(ds, ["clean", "rotate45"])
