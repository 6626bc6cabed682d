"""Checkpoints: round trips, mismatch reports, and refusing hostile pickles."""

from __future__ import annotations

import io
import json
import pathlib
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from metalora.errors import FileFormatError, ModelError
from metalora.models import (
    build_model,
    list_architectures,
    list_sample_models,
    load_checkpoint,
    load_sample_model,
    load_weights,
    read_card,
    read_state_dict,
    sample_models_dir,
    save_checkpoint,
)
from tests.data_files import PicklePayload


def _trained_looking(arch: str = "resnet-mini", **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(arch, in_channels=1, num_classes=4, **kw)
    with torch.no_grad():  # non-trivial BN statistics, so buffers matter in the round trip
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.uniform_(-0.5, 0.5)
            elif name.endswith("running_var"):
                b.uniform_(0.5, 2.0)
    return model.eval()


@pytest.mark.parametrize("arch", list_architectures())
def test_round_trip_gives_identical_outputs(tmp_path, arch):
    model = _trained_looking(arch)
    card = {"dataset": "toy", "metrics": {"clean_test_accuracy": 0.5}, "classes": list("abcd")}
    written = save_checkpoint(model, tmp_path / "toy-model", card)
    assert written == tmp_path / "toy-model.safetensors"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy-model.json", "toy-model.safetensors"]

    loaded, card2 = load_checkpoint(tmp_path / "toy-model.safetensors")
    assert not loaded.training
    assert card2["architecture"] == arch
    assert card2["kwargs"]["in_channels"] == 1 and card2["kwargs"]["num_classes"] == 4
    assert card2["classes"] == list("abcd") and card2["metrics"]["clean_test_accuracy"] == 0.5
    x = torch.rand(6, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b)
    # the other spellings of the same checkpoint
    assert load_checkpoint(tmp_path / "toy-model")[1] == card2
    assert read_card(str(tmp_path / "toy-model.json")) == card2


def test_saving_again_overwrites_atomically(tmp_path):
    model = _trained_looking()
    save_checkpoint(model, tmp_path / "m", {"note": "first"})
    save_checkpoint(model, tmp_path / "m.safetensors", {"note": "second"})
    assert read_card(tmp_path / "m")["note"] == "second"
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp" or p.name.startswith(".")]


def test_save_needs_an_architecture(tmp_path):
    with pytest.raises(ModelError, match="build_model"):
        save_checkpoint(torch.nn.Linear(2, 2), tmp_path / "plain", {})
    assert not list(tmp_path.iterdir())


def test_load_weights_accepts_safetensors_pt_and_bytes(tmp_path):
    src = _trained_looking()
    st, pt, nested = tmp_path / "w.safetensors", tmp_path / "w.pt", tmp_path / "nested.pth"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, st)
    torch.save(src.state_dict(), pt)
    torch.save({"state_dict": {f"module.{k}": v for k, v in src.state_dict().items()}, "epoch": 3}, nested)
    x = torch.rand(2, 1, 32, 32)
    for source in (st, pt, str(nested), pt.read_bytes(), st.read_bytes()):
        dst = build_model("resnet-mini", in_channels=1, num_classes=4).eval()
        assert load_weights(dst, source) is dst
        with torch.no_grad():
            assert torch.equal(dst(x), src(x)), source if isinstance(source, str) else type(source)


def test_mismatched_keys_are_listed(tmp_path):
    state = dict(_trained_looking().state_dict())
    del state["fc.bias"]
    state["extra.weight"] = torch.zeros(3)
    dst = build_model("resnet-mini", in_channels=1, num_classes=4)
    with pytest.raises(ModelError) as info:
        load_weights(dst, _to_bytes(state))
    msg = str(info.value)
    assert "missing keys: fc.bias" in msg
    assert "unexpected keys: extra.weight" in msg
    assert "architecture" in msg  # the hint says what to do


def test_mismatched_shapes_are_listed():
    src = _trained_looking()  # 1 channel, 4 classes
    dst = build_model("resnet-mini", in_channels=3, num_classes=10)
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    with pytest.raises(ModelError) as info:
        load_weights(dst, _to_bytes(src.state_dict()))
    msg = str(info.value)
    assert "fc.weight: file (4, 64) vs model (10, 64)" in msg
    assert "stem.0.weight: file (16, 1, 3, 3) vs model (16, 3, 3, 3)" in msg
    assert "normalize.mean" in msg
    assert all(torch.equal(before[k], v) for k, v in dst.state_dict().items())  # untouched


def _to_bytes(state: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


@pytest.mark.parametrize("container", ["raw-pickle", "torch-zip"])
def test_pickle_payload_is_refused_and_never_runs(tmp_path, container):
    marker = tmp_path / "pwned"
    payload = tmp_path / "weights.pt"
    if container == "raw-pickle":
        payload.write_bytes(pickle.dumps({"fc.weight": PicklePayload(marker)}))
    else:
        torch.save({"fc.weight": PicklePayload(marker)}, payload)
    # control: the payload is live — plain unpickling would run it
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(PicklePayload(control)))
    assert control.exists()

    model = build_model("resnet-mini", in_channels=1, num_classes=4)
    for source in (payload, payload.read_bytes()):
        with pytest.raises(FileFormatError, match="never unpickle") as info:
            load_weights(model, source)
        assert "safetensors" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"certainly not weights" * 10, "neither a .safetensors file"),
        (b'\x0e\x00\x00\x00\x00\x00\x00\x00{"a": {"dtype"', "corrupt"),
    ],
)
def test_garbage_is_a_file_format_error(data, match):
    with pytest.raises(FileFormatError, match=match):
        read_state_dict(data)


def test_non_tensor_entries_and_missing_files_are_refused(tmp_path):
    with pytest.raises(FileFormatError, match="not tensors"):
        read_state_dict(_to_bytes({"a": torch.zeros(1), "lr": 0.1}))
    with pytest.raises(FileFormatError, match="does not exist"):
        read_state_dict(tmp_path / "nope.pt")
    with pytest.raises(FileFormatError, match="over the"):
        read_state_dict(b"x" * 100, max_bytes=10)
    with pytest.raises(FileFormatError, match="No checkpoint"):
        load_checkpoint(tmp_path / "nope")


def test_broken_card_is_a_file_format_error(tmp_path):
    save_checkpoint(_trained_looking(), tmp_path / "m", {})
    (tmp_path / "m.json").write_text(json.dumps({"kwargs": {}}))
    with pytest.raises(FileFormatError, match="architecture"):
        load_checkpoint(tmp_path / "m")
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        load_checkpoint(tmp_path / "m")


def test_sample_models_dir_defaults_to_the_repository_and_can_be_overridden(tmp_path, monkeypatch):
    monkeypatch.delenv("METALORA_SAMPLE_MODELS", raising=False)
    assert sample_models_dir() == pathlib.Path(__file__).resolve().parents[1] / "sample_models"

    monkeypatch.setenv("METALORA_SAMPLE_MODELS", str(tmp_path))
    assert list_sample_models() == []
    model = _trained_looking("mixer-mini")
    save_checkpoint(model, tmp_path / "tiny-sample", {"dataset": "toy"})
    (tmp_path / "orphan.safetensors").write_bytes(b"")  # no card: not listed
    assert list_sample_models() == ["tiny-sample"]
    loaded, card = load_sample_model("tiny-sample")
    assert card["dataset"] == "toy"
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert load_checkpoint("tiny-sample")[1] == card  # bare names fall back to the sample folder
    with pytest.raises(FileFormatError, match="tiny-sample"):
        load_sample_model("does-not-exist")


def test_card_values_from_numpy_and_torch_become_plain_json(tmp_path):
    card = {"acc": np.float32(0.25), "n": np.int64(3), "t": torch.tensor(1.5), "sizes": (1, 2)}
    save_checkpoint(_trained_looking(), tmp_path / "m", card)
    saved = read_card(tmp_path / "m")
    assert (saved["acc"], saved["n"], saved["t"], saved["sizes"]) == (0.25, 3, 1.5, [1, 2])


def test_saving_the_same_model_twice_gives_identical_bytes(tmp_path):
    model = _trained_looking()
    for name in ("a", "b"):
        save_checkpoint(model, tmp_path / name, {"note": "same"})
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()


def test_saved_files_are_readable_by_everyone(tmp_path):
    save_checkpoint(_trained_looking(), tmp_path / "m", {})
    for suffix in (".safetensors", ".json"):
        assert (tmp_path / f"m{suffix}").stat().st_mode & 0o044 == 0o044
