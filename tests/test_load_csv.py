"""The CSV loader: label + pixel columns, every bad cell named by line and column."""

from __future__ import annotations

import numpy as np
import pytest

from metalora.data import (
    load_csv,
)
from metalora.errors import DataError, FileFormatError

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
