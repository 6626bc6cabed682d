"""The NPZ loader: good arrays, every bad case refused with a clear message, pickles never run,
and random bytes never raise anything but the project's own errors."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from metalora.data import (
    Limits,
    load_csv,
    load_npz,
    load_zip_imagefolder,
    split_dataset,
)
from metalora.errors import DataError, FileFormatError
from tests.data_files import (
    PicklePayload,
    good_xy,
    npz_bytes,
)

RANDOM_BLOBS = [np.random.default_rng(s).bytes(n) for s, n in [(0, 1), (1, 50), (2, 1000), (3, 5000)]] + [
    b"PK\x03\x04" + np.random.default_rng(4).bytes(300),
    b"PK\x05\x06" + bytes(18),
    b"\x93NUMPY" + np.random.default_rng(5).bytes(100),
]


# --- NPZ ------------------------------------------------------------------------------------------


def test_npz_uint8_gray_from_bytes_and_path(tmp_path):
    x, y = good_xy()
    data = npz_bytes(x=x, y=y)
    ds = load_npz(data)
    assert ds.x.shape == (12, 1, 6, 6) and ds.x.dtype == np.float32
    np.testing.assert_allclose(ds.x[:, 0], x / 255.0, atol=1e-6)
    assert ds.class_names == ["0", "1", "2"] and ds.domain_names == ["original"]
    path = tmp_path / "d.npz"
    path.write_bytes(data)
    from_path = load_npz(path)
    assert np.array_equal(from_path.x, ds.x) and from_path.name == "d.npz"
    assert len(split_dataset(ds, 0.25, 0.25).test) == 3


def test_npz_float_nchw_string_labels_and_domains():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, size=(8, 3, 5, 5)).astype(np.float32)
    y = np.array(["dog", "cat"] * 4)
    dom = np.array(["a", "b", "b", "a"] * 2)
    ds = load_npz(npz_bytes(x=x, y=y, domain=dom))
    assert ds.channels == 3 and ds.class_names == ["cat", "dog"] and ds.domain_names == ["a", "b"]
    assert ds.y.tolist() == [1, 0] * 4 and ds.domain.tolist() == [0, 1, 1, 0] * 2
    nhwc = load_npz(npz_bytes(x=x.transpose(0, 2, 3, 1), y=y))
    assert np.allclose(nhwc.x, x)
    named = load_npz(npz_bytes(x=x, y=np.arange(8) % 2, class_names=np.array(["no", "yes"])))
    assert named.class_names == ["no", "yes"]


def test_npz_sparse_integer_labels_keep_their_values_as_names():
    x, _ = good_xy(n=6)
    ds = load_npz(npz_bytes(x=x, y=np.array([3, 7, 3, 7, 9, 9])))
    assert ds.class_names == ["3", "7", "9"] and ds.y.tolist() == [0, 1, 0, 1, 2, 2]


def _bad(x=None, y=None, **extra):
    gx, gy = good_xy()
    return npz_bytes(x=gx if x is None else x, y=gy if y is None else y, **extra)


@pytest.mark.parametrize(
    ("data", "error", "phrase"),
    [
        (lambda: _bad(x=np.full((12, 6, 6), np.nan, np.float32)), DataError, "NaN or infinite"),
        (lambda: _bad(x=np.full((12, 6, 6), np.inf)), DataError, "NaN or infinite"),
        (lambda: _bad(x=np.full((12, 6, 6), 3.0)), DataError, r"must lie in \[0, 1\]"),
        (lambda: _bad(x=np.full((12, 6, 6), 300, np.int16)), DataError, "0..255"),
        (lambda: _bad(y=np.arange(11) % 3), DataError, "12 images but 11 class labels"),
        (lambda: _bad(x=np.zeros((12, 36), np.uint8)), DataError, "flattened"),
        (lambda: _bad(x=np.zeros((12, 5, 6, 6), np.uint8)), DataError, "1 or 3 channels"),
        (lambda: _bad(x=np.zeros((12, 1, 1, 6, 6), np.uint8)), DataError, "5 dimension"),
        (lambda: _bad(y=np.zeros(12, int)), DataError, "at least two"),
        (lambda: _bad(y=np.array([0.5] * 12)), DataError, "whole numbers"),
        (lambda: _bad(y=-np.ones(12, int)), DataError, "negative"),
        (lambda: _bad(class_names=np.array(["a", "b", "c", "d"])), DataError, "no images: d"),
        (lambda: _bad(class_names=np.array(["a", "b"])), DataError, "only 2 names"),
        (lambda: npz_bytes(x=good_xy()[0]), FileFormatError, "no 'y'"),
        (lambda: npz_bytes(images=good_xy()[0], labels=good_xy()[1])[:50], FileFormatError, "not a valid"),
    ],
)
def test_npz_bad_cases(data, error, phrase):
    with pytest.raises(error, match=phrase):
        load_npz(data())


def test_npz_aliases_and_limits(tmp_path):
    x, y = good_xy()
    assert len(load_npz(npz_bytes(images=x, labels=y))) == 12
    with pytest.raises(DataError, match="limit is 5"):
        load_npz(npz_bytes(x=x, y=y), limits=Limits(max_images=5))
    with pytest.raises(DataError, match="over the limit of 20 pixels"):
        load_npz(npz_bytes(x=x, y=y), limits=Limits(max_pixels_per_image=20))
    with pytest.raises(FileFormatError, match="upload limit"):
        load_npz(npz_bytes(x=x, y=y), limits=Limits(max_upload_bytes=100))
    with pytest.raises(FileFormatError, match="would expand"):
        load_npz(npz_bytes(x=x, y=y), limits=Limits(max_uncompressed_bytes=300))
    with pytest.raises(FileFormatError, match="does not exist"):
        load_npz(tmp_path / "missing.npz")
    with pytest.raises(FileFormatError, match="folder"):
        load_npz(tmp_path)
    with pytest.raises(FileFormatError, match="empty"):
        load_npz(b"")


def test_npz_pickle_payload_is_refused_and_never_runs(tmp_path):
    # prove the payload is live: unpickling it the unsafe way creates its marker
    probe = tmp_path / "probe_marker"
    unsafe = npz_bytes(x=np.array([PicklePayload(probe)], dtype=object), y=np.array([0]))
    np.load(io.BytesIO(unsafe), allow_pickle=True)["x"]
    assert probe.exists()

    marker = tmp_path / "marker"
    x, y = good_xy()
    for payload in (
        npz_bytes(x=np.array([PicklePayload(marker)] * 12, dtype=object), y=y),
        npz_bytes(x=x, y=y, domain=np.array([PicklePayload(marker)] * 12, dtype=object)),
        npz_bytes(x=x, y=y, class_names=np.array([PicklePayload(marker)] * 3, dtype=object)),
    ):
        with pytest.raises(FileFormatError, match="pickle"):
            load_npz(payload)
    import pickle

    with pytest.raises(FileFormatError, match="pickle"):
        load_npz(pickle.dumps(PicklePayload(marker)))
    assert not marker.exists()


def test_npz_single_npy_is_refused():
    buf = io.BytesIO()
    np.save(buf, np.zeros((2, 4, 4)))
    with pytest.raises(FileFormatError, match=r"single \.npy"):
        load_npz(buf.getvalue())


def test_npz_zip_bomb_member_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", bytes(8 * 1024**2))
        zf.writestr("y.npy", b"")
    with pytest.raises(FileFormatError, match="zip bomb"):
        load_npz(buf.getvalue())


@pytest.mark.parametrize("blob", RANDOM_BLOBS)
def test_random_bytes_never_raise_other_errors(blob):
    for loader in (load_npz, load_csv, load_zip_imagefolder):
        with pytest.raises((FileFormatError, DataError)):
            loader(blob)
