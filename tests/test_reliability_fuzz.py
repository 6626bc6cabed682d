"""Fuzzing every loader of user files: random bytes and damaged copies of valid files.

Each call must either load or raise a :class:`~metalora.errors.MetaLoRAError` with a non-empty
message; any other exception type is a bug (the dashboard would show a traceback). Hypothesis is
derandomized so CI runs the same examples every time.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import save as safetensors_bytes

from metalora import MetaLoRAConfig, get_model, load_adapter
from metalora.adapters.files import CONFIG_NAME, WEIGHTS_NAME
from metalora.data import load_cifar_binary, load_csv, load_imagefolder, load_npz, load_zip_imagefolder
from metalora.errors import MetaLoRAError
from metalora.models.checkpoint import load_weights, read_state_dict
from tests.helpers import TinyResNet

# METALORA_FUZZ_EXAMPLES=5000 METALORA_FUZZ_RANDOM=1 for a longer hunt by hand
FUZZ = settings(
    max_examples=int(os.environ.get("METALORA_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=not os.environ.get("METALORA_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- valid files ----------------------------------------------------------------------------------
def _valid_npz() -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez(buf, x=rng.integers(0, 256, size=(6, 4, 4), dtype=np.uint8), y=np.arange(6) % 2)
    return buf.getvalue()


def _valid_csv() -> bytes:
    rows = ["label," + ",".join(f"p{i}" for i in range(16))]
    rows += [
        f"{('cat', 'dog')[i % 2]}," + ",".join(str((i * 7 + j * 13) % 256) for j in range(16))
        for i in range(6)
    ]
    return ("\n".join(rows) + "\n").encode()


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (6, 6), value).save(buf, format="PNG")
    return buf.getvalue()


def _valid_zip(compression: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for c in ("a", "b"):
            for i in range(2):
                zf.writestr(f"{c}/{i}.png", _png(40 * i + (100 if c == "b" else 0)))
    return buf.getvalue()


def _valid_cifar() -> bytes:
    rng = np.random.default_rng(0)
    lab = (np.arange(4) % 10).astype(np.uint8).reshape(4, 1)
    return np.concatenate([lab, rng.integers(0, 256, (4, 3072), dtype=np.uint8)], axis=1).tobytes()


def _small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))


def _valid_safetensors() -> bytes:
    return safetensors_bytes({k: v.contiguous() for k, v in _small_model().state_dict().items()})


def _valid_torch_save() -> bytes:
    buf = io.BytesIO()
    torch.save(_small_model().state_dict(), buf)
    return buf.getvalue()


VALID = {
    "npz": _valid_npz(),
    "npz-deflated": None,  # filled below
    "csv": _valid_csv(),
    "zip": _valid_zip(),
    "zip-deflated": _valid_zip(zipfile.ZIP_DEFLATED),
    "cifar": _valid_cifar(),
    "safetensors": _valid_safetensors(),
    "torch.save": _valid_torch_save(),
}
_buf = io.BytesIO()
np.savez_compressed(_buf, x=np.zeros((6, 4, 4), np.uint8), y=np.arange(6) % 2)
VALID["npz-deflated"] = _buf.getvalue()


# --- damage ---------------------------------------------------------------------------------------
_op = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**31), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 2**31), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 2**31), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 2**31), st.integers(1, 64)),
)


def _damage(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for kind, pos, arg in ops:
        if not b:
            break
        i = pos % len(b)
        if kind == "flip":
            b[i] ^= arg
        elif kind == "truncate":
            del b[i:]
        elif kind == "insert":
            b[i:i] = arg
        else:
            del b[i : i + arg]
    return bytes(b)


def _blobs(*kinds: str):
    """Random bytes, or a valid file of one of ``kinds`` with 1..4 random edits."""
    damaged = st.builds(
        _damage, st.sampled_from([VALID[k] for k in kinds]), st.lists(_op, min_size=1, max_size=4)
    )
    return st.one_of(st.binary(max_size=300), damaged, damaged, damaged)


def _loads_or_refuses(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except MetaLoRAError as err:
        assert str(err).strip(), f"{type(err).__name__} with an empty message"
        return None
    # anything else propagates and fails the test with the example printed by hypothesis


# --- the loaders ----------------------------------------------------------------------------------
@FUZZ
@given(_blobs("npz", "npz-deflated"))
def test_fuzz_npz(blob):
    _loads_or_refuses(load_npz, blob)


@FUZZ
@given(_blobs("csv"))
def test_fuzz_csv(blob):
    _loads_or_refuses(load_csv, blob)


@FUZZ
@given(_blobs("zip", "zip-deflated"))
def test_fuzz_zip_imagefolder(blob):
    _loads_or_refuses(load_zip_imagefolder, blob, image_size=8)


@FUZZ
@given(_blobs("safetensors", "torch.save"))
def test_fuzz_state_dict_and_load_weights(blob):
    _loads_or_refuses(read_state_dict, blob)
    _loads_or_refuses(load_weights, _small_model(), blob)


@FUZZ
@given(blob=_blobs("cifar"))
def test_fuzz_cifar_binary(blob, tmp_path_factory):
    folder = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    try:
        (folder / "data_batch_1.bin").write_bytes(blob)
        _loads_or_refuses(load_cifar_binary, folder)
    finally:
        shutil.rmtree(folder)


@FUZZ
@given(a=_blobs("zip"), b=st.binary(max_size=200))
def test_fuzz_imagefolder_on_disk(a, b, tmp_path_factory):
    """Damaged and random files with image names inside an ImageFolder tree."""
    root = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    try:
        for c, data in (("a", a), ("b", b)):
            (root / c).mkdir()
            (root / c / "x.png").write_bytes(data)
            (root / c / "y.png").write_bytes(_damage(_png(90), [("flip", len(data), 7)]))
        _loads_or_refuses(load_imagefolder, root, image_size=8)
    finally:
        shutil.rmtree(root)


# --- a saved adapter folder with one of its files damaged ------------------------------------------
@pytest.fixture(scope="module")
def saved_adapter(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapter")
    torch.manual_seed(0)
    base = TinyResNet()
    get_model(base, MetaLoRAConfig(method="meta-tr", rank=2)).save_adapter(folder)
    return base, folder


@FUZZ
@given(which=st.sampled_from([CONFIG_NAME, WEIGHTS_NAME]), ops=st.lists(_op, min_size=1, max_size=4))
def test_fuzz_adapter_folder(which, ops, saved_adapter, tmp_path_factory):
    base, good = saved_adapter
    folder = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    try:
        for f in good.iterdir():
            shutil.copy(f, folder / f.name)
        (folder / which).write_bytes(_damage((good / which).read_bytes(), ops))
        _loads_or_refuses(load_adapter, base, folder)
    finally:
        shutil.rmtree(folder)


# --- examples the fuzzer found (kept as plain regression tests) ------------------------------------
def test_corrupt_torch_save_pickle_is_a_file_format_error():
    """A byte flip in ``data.pkl`` made torch's weights-only unpickler raise IndexError."""
    data = bytearray(_valid_torch_save())
    i = data.index(b"ccollections")  # flip the first pickle opcodes after the PROTO header
    data[i - 2] ^= 0x80 ^ ord("Q")  # PROTO -> BINPERSID on an empty stack
    with pytest.raises(MetaLoRAError, match=r"neither a \.safetensors file nor a plain PyTorch state dict"):
        read_state_dict(bytes(data))


def test_adapter_config_with_a_non_numeric_format_version_is_refused(saved_adapter, tmp_path):
    """A damaged adapter_config.json with ``"format_version": "1"`` raised TypeError."""
    import json

    base, good = saved_adapter
    for f in good.iterdir():
        shutil.copy(f, tmp_path / f.name)
    meta = json.loads((good / CONFIG_NAME).read_text())
    meta["format_version"] = "1"
    (tmp_path / CONFIG_NAME).write_text(json.dumps(meta))
    with pytest.raises(MetaLoRAError, match=r"format_version '1'.*re-save the adapter"):
        load_adapter(base, tmp_path)
