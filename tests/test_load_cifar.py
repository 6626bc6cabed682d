"""CIFAR-10 / CIFAR-100 binary batches: good files and every malformed one refused."""

from __future__ import annotations

import numpy as np
import pytest

from metalora.data import (
    load_cifar_binary,
)
from metalora.errors import DataError, FileFormatError

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
