"""Image folders, zipped (uploads) or on disk: layouts, domains, and every refusal (zip slip, bombs,
pixel bombs, symlinks) before anything is decoded."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

import numpy as np
import pytest

from metalora.data import (
    Limits,
    load_imagefolder,
    load_zip_imagefolder,
)
from metalora.data.safezip import read_member
from metalora.data.source import ByteBudget
from metalora.errors import DataError, FileFormatError
from tests.data_files import (
    png_bytes,
    two_class_tree,
    zip_bytes,
)

# --- ZIP ImageFolder ------------------------------------------------------------------------------


def test_zip_imagefolder_gray_layout_and_root_folder():
    ds = load_zip_imagefolder(zip_bytes(two_class_tree("mydata/")), image_size=8)
    assert ds.x.shape == (4, 1, 8, 8) and ds.class_names == ["cat", "dog"]
    assert ds.y.tolist() == [0, 0, 1, 1] and ds.domain_names == ["original"]
    assert abs(float(ds.x[0].mean()) - 10 / 255) < 0.01 and abs(float(ds.x[2].mean()) - 200 / 255) < 0.01


def test_zip_imagefolder_rgb_domains_skips_system_files_and_accepts_upload_objects():
    entries = {
        "sunny/cat/1.png": png_bytes(mode="RGB", value=10),
        "sunny/dog/1.png": png_bytes(value=100),  # gray mixed with RGB -> all RGB
        "night/cat/1.png": png_bytes(mode="RGB", value=40),
        "night/dog/2.png": png_bytes(mode="RGB", value=90),
        "__MACOSX/sunny/cat/._1.png": b"junk",
        "sunny/.DS_Store": b"junk",
        "night/dog/Thumbs.db": b"junk",
    }
    upload = io.BytesIO(zip_bytes(entries))
    upload.name = "photos.zip"
    ds = load_zip_imagefolder(upload, image_size=6)
    assert ds.x.shape == (4, 3, 6, 6) and ds.name == "photos.zip"
    assert ds.domain_names == ["night", "sunny"] and ds.class_names == ["cat", "dog"]
    assert np.allclose(ds.x[ds.domain == 1][ds.y[ds.domain == 1] == 1], 100 / 255, atol=0.01)


def test_zip_with_empty_class_folder_or_one_class():
    with pytest.raises(DataError, match="no images: bird"):
        load_zip_imagefolder(zip_bytes(two_class_tree() | {"bird/": None}))
    with pytest.raises(DataError, match="at least two"):
        load_zip_imagefolder(zip_bytes({"cat/1.png": png_bytes(), "cat/2.png": png_bytes()}))


@pytest.mark.parametrize(
    ("extra", "error", "phrase"),
    [
        ({"cat/notes.txt": b"hello"}, FileFormatError, "'cat/notes.txt' .* is not an image file"),
        (
            {"dog/broken.png": b"\x89PNG\r\n\x1a\nnot really"},
            FileFormatError,
            "'dog/broken.png' is not a readable image",
        ),
        ({"../evil.png": png_bytes()}, FileFormatError, r"uses '\.\.' to point outside"),
        ({"cat/../../evil.png": png_bytes()}, FileFormatError, "outside the extraction folder"),
        ({"/etc/evil.png": png_bytes()}, FileFormatError, "absolute path"),
        ({"C:/evil.png": png_bytes()}, FileFormatError, "absolute path"),
        ({"loose.png": png_bytes()}, DataError, "not inside a class folder"),
        ({"a/b/c/deep.png": png_bytes()}, DataError, "mix depths"),
    ],
)
def test_zip_refusals(extra, error, phrase, tmp_path):
    before = set(os.listdir(tmp_path.parent))
    with pytest.raises(error, match=phrase):
        load_zip_imagefolder(zip_bytes(two_class_tree() | extra))
    assert set(os.listdir(tmp_path.parent)) == before  # nothing extracted anywhere


def _patched_png(width: int, height: int) -> bytes:
    """A valid small PNG whose header claims ``width x height`` (CRC fixed, pixel data tiny)."""
    data = bytearray(png_bytes((4, 4)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_zip_image_pixel_limits_are_checked_before_decoding():
    for w, h in ((100_000, 100_000), (5000, 5000)):
        with pytest.raises(FileFormatError, match=r"'dog/huge\.png' .* over the limit of 16,777,216 pixels"):
            load_zip_imagefolder(zip_bytes(two_class_tree() | {"dog/huge.png": _patched_png(w, h)}))
    with pytest.raises(FileFormatError, match="over the limit of 50 pixels"):
        load_zip_imagefolder(zip_bytes(two_class_tree()), limits=Limits(max_pixels_per_image=50))


def test_zip_bomb_entry_count_and_total_size():
    bomb = two_class_tree() | {"dog/bomb.png": bytes(20 * 1024**2)}
    with pytest.raises(FileFormatError, match="zip bomb"):
        load_zip_imagefolder(zip_bytes(bomb))
    with pytest.raises(FileFormatError, match="5 entries; the limit is 3"):
        load_zip_imagefolder(
            zip_bytes(two_class_tree() | {"cat/3.png": png_bytes()}), limits=Limits(max_zip_entries=3)
        )
    with pytest.raises(FileFormatError, match="would expand"):
        load_zip_imagefolder(zip_bytes(two_class_tree()), limits=Limits(max_uncompressed_bytes=200))


def test_zip_real_bytes_are_counted_not_headers():
    data = zip_bytes({"cat/1.png": bytes(5000)}, compression=zipfile.ZIP_STORED)
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
    _write_tree(tmp_path / "flat", two_class_tree() | {".DS_Store": b"x", "cat/.hidden.png": b"x"})
    ds = load_imagefolder(tmp_path / "flat", image_size=8)
    assert len(ds) == 4 and ds.class_names == ["cat", "dog"] and ds.name == "flat"
    _write_tree(tmp_path / "doms", two_class_tree("d1/") | two_class_tree("d2/"))
    ds2 = load_imagefolder(tmp_path / "doms", image_size=8)
    assert ds2.domain_names == ["d1", "d2"] and ds2.domain_counts().tolist() == [4, 4]
    z = load_zip_imagefolder(zip_bytes(two_class_tree()), image_size=8)
    assert np.array_equal(z.x, ds.x)  # same rules and decoding for folders and ZIPs


def test_imagefolder_refusals(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        load_imagefolder(tmp_path / "nope")
    _write_tree(tmp_path / "txt", two_class_tree() | {"dog/readme.md": b"#"})
    with pytest.raises(FileFormatError, match=r"'dog/readme\.md' .* is not an image"):
        load_imagefolder(tmp_path / "txt")
    _write_tree(tmp_path / "empty", two_class_tree() | {"fish": None})
    with pytest.raises(DataError, match="no images: fish"):
        load_imagefolder(tmp_path / "empty")
    outside = tmp_path / "secret.png"
    outside.write_bytes(png_bytes())
    _write_tree(tmp_path / "link", two_class_tree())
    os.symlink(outside, tmp_path / "link" / "cat" / "3.png")
    with pytest.raises(FileFormatError, match="outside the data folder"):
        load_imagefolder(tmp_path / "link")
    with pytest.raises(FileFormatError, match="more than 2 files"):
        load_imagefolder(tmp_path / "txt", limits=Limits(max_zip_entries=2))
