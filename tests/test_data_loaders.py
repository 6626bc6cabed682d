"""Loaders for user files: good input, and every bad case refused with a clear message.

All test data is tiny and generated here (in memory or under ``tmp_path``).
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from metalora.data import (
    Limits,
    load_cifar_binary,
    load_csv,
    load_imagefolder,
    load_npz,
    load_zip_imagefolder,
    split_dataset,
)
from metalora.data.safezip import read_member
from metalora.data.source import ByteBudget
from metalora.errors import DataError, FileFormatError

# --- helpers --------------------------------------------------------------------------------------


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _good_xy(n=12, h=6, w=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
    y = np.arange(n) % classes
    return x, y


def _png(size=(8, 8), mode="L", value=128) -> bytes:
    color = value if mode == "L" else (value, 255 - value, 30)
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def _zip(entries: dict[str, bytes | None], compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP with the given entries; ``None`` makes a directory entry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            if data is None:
                zf.writestr(zipfile.ZipInfo(name if name.endswith("/") else name + "/"), b"")
            else:
                zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buf.getvalue()


def _two_class_tree(prefix="") -> dict[str, bytes]:
    return {
        f"{prefix}cat/1.png": _png(value=10),
        f"{prefix}cat/2.png": _png((10, 6), value=20),
        f"{prefix}dog/1.png": _png(value=200),
        f"{prefix}dog/2.jpg": _jpeg(),
    }


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (9, 9), 220).save(buf, format="JPEG")
    return buf.getvalue()


RANDOM_BLOBS = [np.random.default_rng(s).bytes(n) for s, n in [(0, 1), (1, 50), (2, 1000), (3, 5000)]] + [
    b"PK\x03\x04" + np.random.default_rng(4).bytes(300),
    b"PK\x05\x06" + bytes(18),
    b"\x93NUMPY" + np.random.default_rng(5).bytes(100),
]


# --- NPZ ------------------------------------------------------------------------------------------


def test_npz_uint8_gray_from_bytes_and_path(tmp_path):
    x, y = _good_xy()
    data = _npz(x=x, y=y)
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
    ds = load_npz(_npz(x=x, y=y, domain=dom))
    assert ds.channels == 3 and ds.class_names == ["cat", "dog"] and ds.domain_names == ["a", "b"]
    assert ds.y.tolist() == [1, 0] * 4 and ds.domain.tolist() == [0, 1, 1, 0] * 2
    nhwc = load_npz(_npz(x=x.transpose(0, 2, 3, 1), y=y))
    assert np.allclose(nhwc.x, x)
    named = load_npz(_npz(x=x, y=np.arange(8) % 2, class_names=np.array(["no", "yes"])))
    assert named.class_names == ["no", "yes"]


def test_npz_sparse_integer_labels_keep_their_values_as_names():
    x, _ = _good_xy(n=6)
    ds = load_npz(_npz(x=x, y=np.array([3, 7, 3, 7, 9, 9])))
    assert ds.class_names == ["3", "7", "9"] and ds.y.tolist() == [0, 1, 0, 1, 2, 2]


def _bad(x=None, y=None, **extra):
    gx, gy = _good_xy()
    return _npz(x=gx if x is None else x, y=gy if y is None else y, **extra)


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
        (lambda: _npz(x=_good_xy()[0]), FileFormatError, "no 'y'"),
        (lambda: _npz(images=_good_xy()[0], labels=_good_xy()[1])[:50], FileFormatError, "not a valid"),
    ],
)
def test_npz_bad_cases(data, error, phrase):
    with pytest.raises(error, match=phrase):
        load_npz(data())


def test_npz_aliases_and_limits(tmp_path):
    x, y = _good_xy()
    assert len(load_npz(_npz(images=x, labels=y))) == 12
    with pytest.raises(DataError, match="limit is 5"):
        load_npz(_npz(x=x, y=y), limits=Limits(max_images=5))
    with pytest.raises(DataError, match="over the limit of 20 pixels"):
        load_npz(_npz(x=x, y=y), limits=Limits(max_pixels_per_image=20))
    with pytest.raises(FileFormatError, match="upload limit"):
        load_npz(_npz(x=x, y=y), limits=Limits(max_upload_bytes=100))
    with pytest.raises(FileFormatError, match="would expand"):
        load_npz(_npz(x=x, y=y), limits=Limits(max_uncompressed_bytes=300))
    with pytest.raises(FileFormatError, match="does not exist"):
        load_npz(tmp_path / "missing.npz")
    with pytest.raises(FileFormatError, match="folder"):
        load_npz(tmp_path)
    with pytest.raises(FileFormatError, match="empty"):
        load_npz(b"")


class _Payload:
    """Unpickling this object creates the file at ``path`` (a stand-in for arbitrary code)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_npz_pickle_payload_is_refused_and_never_runs(tmp_path):
    # prove the payload is live: unpickling it the unsafe way creates its marker
    probe = tmp_path / "probe_marker"
    unsafe = _npz(x=np.array([_Payload(probe)], dtype=object), y=np.array([0]))
    np.load(io.BytesIO(unsafe), allow_pickle=True)["x"]
    assert probe.exists()

    marker = tmp_path / "marker"
    x, y = _good_xy()
    for payload in (
        _npz(x=np.array([_Payload(marker)] * 12, dtype=object), y=y),
        _npz(x=x, y=y, domain=np.array([_Payload(marker)] * 12, dtype=object)),
        _npz(x=x, y=y, class_names=np.array([_Payload(marker)] * 3, dtype=object)),
    ):
        with pytest.raises(FileFormatError, match="pickle"):
            load_npz(payload)
    import pickle

    with pytest.raises(FileFormatError, match="pickle"):
        load_npz(pickle.dumps(_Payload(marker)))
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


# --- CSV ------------------------------------------------------------------------------------------


def _csv(rows, header=None, sep=","):
    header = header or ["label"] + [f"p{i}" for i in range(len(rows[0]) - 1)]
    lines = [sep.join(header)] + [sep.join(str(v) for v in r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _csv_rows(n=6, pixels=16, classes=("cat", "dog")):
    return [[classes[i % len(classes)]] + [(i * 7 + j * 13) % 256 for j in range(pixels)] for i in range(n)]


def test_csv_grayscale_with_names(tmp_path):
    rows = _csv_rows()
    ds = load_csv(_csv(rows))
    assert ds.x.shape == (6, 1, 4, 4) and ds.class_names == ["cat", "dog"]
    np.testing.assert_allclose(ds.x[1, 0].ravel(), np.array(rows[1][1:]) / 255.0, atol=1e-6)
    path = tmp_path / "t.csv"
    path.write_bytes(_csv(rows, sep=";"))
    assert np.array_equal(load_csv(path).x, ds.x)


def test_csv_fast_and_careful_parsers_agree():
    rows = _csv_rows(n=9, classes=("a", "b", "c"))
    plain = _csv(rows)
    quoted = plain.replace(b"label", b'"label"', 1)  # quoting sends the file down the careful path
    crlf = plain.replace(b"\n", b"\r\n").replace(b"\r\n", b"\r\n\r\n", 2)  # CRLF and blank lines
    a, b, c = load_csv(plain), load_csv(quoted), load_csv(crlf)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and a.class_names == b.class_names
    assert np.array_equal(a.x, c.x) and np.array_equal(a.y, c.y)


def test_csv_rgb_domain_column_int_labels_and_unit_range():
    rows = [[i % 2, ["a", "b"][i % 3 == 0]] + [0.5] * 48 for i in range(6)]
    header = ["target", "domain"] + [f"v{i}" for i in range(48)]
    ds = load_csv(_csv(rows, header), label_column="target")
    assert ds.x.shape == (6, 3, 4, 4) and np.allclose(ds.x, 0.5)
    assert ds.class_names == ["0", "1"] and ds.domain_names == ["a", "b"]
    forced = load_csv(_csv([[i % 2] + [9] * 48 for i in range(4)]), channels=3)
    assert forced.channels == 3
    with pytest.raises(DataError, match="do not form a square"):
        load_csv(_csv([[i % 2] + [9] * 48 for i in range(4)]), channels=1)


@pytest.mark.parametrize(
    ("mutate", "error", "phrase"),
    [
        (lambda r: r[2].__setitem__(3, "abc"), DataError, r"line 4, column 'p2': 'abc' is not a number"),
        (lambda r: r[0].__setitem__(5, "nan"), DataError, r"line 2, column 'p4'.*not a finite number"),
        (lambda r: r[1].__setitem__(1, ""), DataError, "line 3, column 'p0'"),
        (lambda r: r[3].append(5), DataError, "line 5 has 18 cells"),
        (lambda r: r[0].__setitem__(2, 999), DataError, "0..255"),
        (lambda r: r[0].__setitem__(0, " "), DataError, "'label' cell is empty"),
        (lambda r: [row.__setitem__(0, "cat") for row in r], DataError, "at least two"),
    ],
)
def test_csv_bad_cells(mutate, error, phrase):
    rows = _csv_rows()
    mutate(rows)
    header = ["label"] + [f"p{i}" for i in range(16)]
    with pytest.raises(error, match=phrase):
        load_csv(_csv(rows, header))


def test_csv_structure_errors():
    rows = _csv_rows()
    with pytest.raises(DataError, match="no column named 'label'"):
        load_csv(_csv(rows, ["y"] + [f"p{i}" for i in range(16)]))
    with pytest.raises(DataError, match="looks like data"):
        load_csv(b"1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="5 pixel columns"):
        load_csv(_csv(_csv_rows(pixels=5)))
    with pytest.raises(DataError, match="no data rows"):
        load_csv(b"label,p0,p1,p2,p3\n")
    with pytest.raises(FileFormatError, match="binary"):
        load_csv(b"label\x00,p0")
    with pytest.raises(FileFormatError, match="UTF-8"):
        load_csv(b"label,p0\n\xff\xfe,1\n")


# --- ZIP ImageFolder ------------------------------------------------------------------------------


def test_zip_imagefolder_gray_layout_and_root_folder():
    ds = load_zip_imagefolder(_zip(_two_class_tree("mydata/")), image_size=8)
    assert ds.x.shape == (4, 1, 8, 8) and ds.class_names == ["cat", "dog"]
    assert ds.y.tolist() == [0, 0, 1, 1] and ds.domain_names == ["original"]
    assert abs(float(ds.x[0].mean()) - 10 / 255) < 0.01 and abs(float(ds.x[2].mean()) - 200 / 255) < 0.01


def test_zip_imagefolder_rgb_domains_skips_system_files_and_accepts_upload_objects():
    entries = {
        "sunny/cat/1.png": _png(mode="RGB", value=10),
        "sunny/dog/1.png": _png(value=100),  # gray mixed with RGB -> all RGB
        "night/cat/1.png": _png(mode="RGB", value=40),
        "night/dog/2.png": _png(mode="RGB", value=90),
        "__MACOSX/sunny/cat/._1.png": b"junk",
        "sunny/.DS_Store": b"junk",
        "night/dog/Thumbs.db": b"junk",
    }
    upload = io.BytesIO(_zip(entries))
    upload.name = "photos.zip"
    ds = load_zip_imagefolder(upload, image_size=6)
    assert ds.x.shape == (4, 3, 6, 6) and ds.name == "photos.zip"
    assert ds.domain_names == ["night", "sunny"] and ds.class_names == ["cat", "dog"]
    assert np.allclose(ds.x[ds.domain == 1][ds.y[ds.domain == 1] == 1], 100 / 255, atol=0.01)


def test_zip_with_empty_class_folder_or_one_class():
    with pytest.raises(DataError, match="no images: bird"):
        load_zip_imagefolder(_zip(_two_class_tree() | {"bird/": None}))
    with pytest.raises(DataError, match="at least two"):
        load_zip_imagefolder(_zip({"cat/1.png": _png(), "cat/2.png": _png()}))


@pytest.mark.parametrize(
    ("extra", "error", "phrase"),
    [
        ({"cat/notes.txt": b"hello"}, FileFormatError, "'cat/notes.txt' .* is not an image file"),
        (
            {"dog/broken.png": b"\x89PNG\r\n\x1a\nnot really"},
            FileFormatError,
            "'dog/broken.png' is not a readable image",
        ),
        ({"../evil.png": _png()}, FileFormatError, r"uses '\.\.' to point outside"),
        ({"cat/../../evil.png": _png()}, FileFormatError, "outside the extraction folder"),
        ({"/etc/evil.png": _png()}, FileFormatError, "absolute path"),
        ({"C:/evil.png": _png()}, FileFormatError, "absolute path"),
        ({"loose.png": _png()}, DataError, "not inside a class folder"),
        ({"a/b/c/deep.png": _png()}, DataError, "mix depths"),
    ],
)
def test_zip_refusals(extra, error, phrase, tmp_path):
    before = set(os.listdir(tmp_path.parent))
    with pytest.raises(error, match=phrase):
        load_zip_imagefolder(_zip(_two_class_tree() | extra))
    assert set(os.listdir(tmp_path.parent)) == before  # nothing extracted anywhere


def _patched_png(width: int, height: int) -> bytes:
    """A valid small PNG whose header claims ``width x height`` (CRC fixed, pixel data tiny)."""
    data = bytearray(_png((4, 4)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_zip_image_pixel_limits_are_checked_before_decoding():
    for w, h in ((100_000, 100_000), (5000, 5000)):
        with pytest.raises(FileFormatError, match=r"'dog/huge\.png' .* over the limit of 16,777,216 pixels"):
            load_zip_imagefolder(_zip(_two_class_tree() | {"dog/huge.png": _patched_png(w, h)}))
    with pytest.raises(FileFormatError, match="over the limit of 50 pixels"):
        load_zip_imagefolder(_zip(_two_class_tree()), limits=Limits(max_pixels_per_image=50))


def test_zip_bomb_entry_count_and_total_size():
    bomb = _two_class_tree() | {"dog/bomb.png": bytes(20 * 1024**2)}
    with pytest.raises(FileFormatError, match="zip bomb"):
        load_zip_imagefolder(_zip(bomb))
    with pytest.raises(FileFormatError, match="5 entries; the limit is 3"):
        load_zip_imagefolder(
            _zip(_two_class_tree() | {"cat/3.png": _png()}), limits=Limits(max_zip_entries=3)
        )
    with pytest.raises(FileFormatError, match="would expand"):
        load_zip_imagefolder(_zip(_two_class_tree()), limits=Limits(max_uncompressed_bytes=200))


def test_zip_real_bytes_are_counted_not_headers():
    data = _zip({"cat/1.png": bytes(5000)}, compression=zipfile.ZIP_STORED)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.infolist()[0]
        with pytest.raises(FileFormatError, match="more than"):
            read_member(zf, info, ByteBudget(1000), chunk=256)
    # a header that lies about the size (local and central directory patched to 100 bytes)
    lying = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = lying.index(sig)
        lying[at + off : at + off + 4] = struct.pack("<I", 100)
    with pytest.raises(FileFormatError):
        load_zip_imagefolder(bytes(lying))


# --- local ImageFolder ----------------------------------------------------------------------------


def _write_tree(root, entries):
    for rel, data in entries.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            path.mkdir(exist_ok=True)
        else:
            path.write_bytes(data)


def test_imagefolder_good_and_domains(tmp_path):
    _write_tree(tmp_path / "flat", _two_class_tree() | {".DS_Store": b"x", "cat/.hidden.png": b"x"})
    ds = load_imagefolder(tmp_path / "flat", image_size=8)
    assert len(ds) == 4 and ds.class_names == ["cat", "dog"] and ds.name == "flat"
    _write_tree(tmp_path / "doms", _two_class_tree("d1/") | _two_class_tree("d2/"))
    ds2 = load_imagefolder(tmp_path / "doms", image_size=8)
    assert ds2.domain_names == ["d1", "d2"] and ds2.domain_counts().tolist() == [4, 4]
    z = load_zip_imagefolder(_zip(_two_class_tree()), image_size=8)
    assert np.array_equal(z.x, ds.x)  # same rules and decoding for folders and ZIPs


def test_imagefolder_refusals(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        load_imagefolder(tmp_path / "nope")
    _write_tree(tmp_path / "txt", _two_class_tree() | {"dog/readme.md": b"#"})
    with pytest.raises(FileFormatError, match=r"'dog/readme\.md' .* is not an image"):
        load_imagefolder(tmp_path / "txt")
    _write_tree(tmp_path / "empty", _two_class_tree() | {"fish": None})
    with pytest.raises(DataError, match="no images: fish"):
        load_imagefolder(tmp_path / "empty")
    outside = tmp_path / "secret.png"
    outside.write_bytes(_png())
    _write_tree(tmp_path / "link", _two_class_tree())
    os.symlink(outside, tmp_path / "link" / "cat" / "3.png")
    with pytest.raises(FileFormatError, match="outside the data folder"):
        load_imagefolder(tmp_path / "link")
    with pytest.raises(FileFormatError, match="more than 2 files"):
        load_imagefolder(tmp_path / "txt", limits=Limits(max_zip_entries=2))


# --- CIFAR binary ---------------------------------------------------------------------------------


def _cifar_records(labels, label_bytes=1, seed=0):
    rng = np.random.default_rng(seed)
    n = len(labels)
    pix = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    lab = np.asarray(labels, dtype=np.uint8).reshape(n, label_bytes)
    return np.concatenate([lab, pix], axis=1).tobytes(), pix


def test_cifar10_binary(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    b1, pix1 = _cifar_records(np.arange(20) % 10, seed=1)
    b2, _ = _cifar_records(np.arange(10), seed=2)
    (folder / "data_batch_1.bin").write_bytes(b1)
    (folder / "data_batch_2.bin").write_bytes(b2)
    (folder / "test_batch.bin").write_bytes(_cifar_records(np.arange(10), seed=3)[0])
    (folder / "batches.meta.txt").write_text("\n".join(f"name{i}" for i in range(10)) + "\n\n")
    ds = load_cifar_binary(tmp_path, which="cifar10", split="train")
    assert ds.x.shape == (30, 3, 32, 32) and ds.class_names[3] == "name3"
    assert ds.y[:20].tolist() == (np.arange(20) % 10).tolist()
    np.testing.assert_allclose(ds.x[5].ravel(), pix1[5] / 255.0, atol=1e-6)
    assert len(load_cifar_binary(folder, split="test")) == 10


def test_cifar100_binary_fine_labels(tmp_path):
    labels = np.stack([np.arange(100) // 5, np.arange(100)], axis=1)  # (coarse, fine)
    (tmp_path / "train.bin").write_bytes(_cifar_records(labels, label_bytes=2)[0])
    ds = load_cifar_binary(tmp_path, which="cifar100")
    assert ds.num_classes == 100 and ds.y.tolist() == list(range(100))
    assert ds.class_names[:2] == ["class_0", "class_1"]


def test_cifar_errors(tmp_path):
    with pytest.raises(FileFormatError, match="No cifar10 train files"):
        load_cifar_binary(tmp_path)
    good, _ = _cifar_records(np.arange(10))
    (tmp_path / "data_batch_1.bin").write_bytes(good[:-5])
    with pytest.raises(FileFormatError, match="not a whole number of 3,073-byte"):
        load_cifar_binary(tmp_path)
    (tmp_path / "data_batch_1.bin").write_bytes(_cifar_records([12, *range(9)])[0])
    with pytest.raises(DataError, match="label 12"):
        load_cifar_binary(tmp_path)
    (tmp_path / "data_batch_1.bin").write_bytes(_cifar_records(np.arange(9))[0])
    with pytest.raises(DataError, match="no images: truck"):
        load_cifar_binary(tmp_path)
    (tmp_path / "data_batch_1.bin").write_bytes(np.random.default_rng(0).bytes(3073 * 3))
    with pytest.raises((DataError, FileFormatError)):
        load_cifar_binary(tmp_path)
    with pytest.raises(DataError, match="which="):
        load_cifar_binary(tmp_path, which="cifar20")
    with pytest.raises(DataError, match="split="):
        load_cifar_binary(tmp_path, split="val")
    with pytest.raises(FileFormatError, match="does not exist"):
        load_cifar_binary(tmp_path / "nope")
