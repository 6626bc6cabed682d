"""Saving and loading adapters: round trips, mismatched bases, corrupt and hostile files."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from metalora import MetaLoRAConfig, get_model, load_adapter
from metalora.adapters.files import CONFIG_NAME, WEIGHTS_NAME, read_adapter_config
from metalora.errors import ConfigError, FileFormatError, ModelError
from tests.data_files import PicklePayload
from tests.helpers import METHODS, TinyMixer, TinyResNet, randomise_adapters


def trained(method: str, tmp_path, **kw):
    torch.manual_seed(0)
    model = get_model(TinyResNet(), MetaLoRAConfig(method=method, **{"rank": 3, **kw})).eval()
    randomise_adapters(model)
    model.save_adapter(tmp_path)
    return model


@pytest.mark.parametrize("method", METHODS)
def test_round_trip_gives_identical_outputs(method, tmp_path):
    model = trained(method, tmp_path)
    x = torch.rand(4, 3, 8, 8)
    torch.manual_seed(0)
    loaded = load_adapter(TinyResNet(), tmp_path).eval()
    assert torch.equal(loaded(x), model(x))
    meta = read_adapter_config(tmp_path)
    assert meta["config"]["method"] == method and meta["layers"][0]["name"] == "stem"
    assert not list(tmp_path.glob("*.tmp")), "no temporary files may be left behind"


def test_rank_mapping_and_targets_survive_round_trip(tmp_path):
    cfg = dict(rank={"fc": 2, "default": 4}, target_modules=["stem", "fc"])
    model = trained("meta-cp", tmp_path, **cfg)
    torch.manual_seed(0)
    loaded = load_adapter(TinyResNet(), tmp_path)
    assert {n: a.rank for n, a in loaded.adapted_layers().items()} == {"stem": 4, "fc": 2}
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(loaded.eval()(x), model(x))


def test_different_base_is_refused_with_what_differs(tmp_path):
    trained("meta-tr", tmp_path)
    with pytest.raises(ModelError, match="different base model") as err:
        load_adapter(TinyResNet(c=8), tmp_path)
    assert "different shapes" in str(err.value) and "stem.weight" in str(err.value)
    with pytest.raises(ModelError, match="missing in this model"):
        load_adapter(TinyMixer(), tmp_path)


def test_base_is_left_untouched_when_weights_are_inconsistent(tmp_path):
    trained("lora", tmp_path)
    tensors = {"base_model.stem.adapter_A": torch.zeros(3, 3, 3, 3)}  # wrong shape, the rest missing
    save_file(tensors, tmp_path / WEIGHTS_NAME)
    base = TinyResNet()
    with pytest.raises(FileFormatError, match="does not fit its config"):
        load_adapter(base, tmp_path)
    assert type(base.stem).__name__ == "Conv2d" and all(p.requires_grad for p in base.parameters())


def test_dtype_mismatch_is_refused(tmp_path):
    model = trained("cp", tmp_path)
    tensors = {n: t.double() for n, t in model.adapter_state_dict().items()}
    save_file(tensors, tmp_path / WEIGHTS_NAME)
    with pytest.raises(FileFormatError, match="float64"):
        load_adapter(TinyResNet(), tmp_path)


def test_pickle_dressed_as_adapter_is_refused_and_never_executed(tmp_path):
    trained("meta-tr", tmp_path)
    marker = tmp_path / "pwned"
    (tmp_path / WEIGHTS_NAME).write_bytes(pickle.dumps({"x": PicklePayload(marker)}))
    with pytest.raises(FileFormatError, match="not a safetensors file"):
        load_adapter(TinyResNet(), tmp_path)
    assert not marker.exists()
    torch.save({"x": torch.zeros(2)}, tmp_path / WEIGHTS_NAME)  # a zip-based torch pickle
    with pytest.raises(FileFormatError, match="safetensors"):
        load_adapter(TinyResNet(), tmp_path)


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"\xff\xfe not json", "not valid JSON"),
        (b"[1, 2, 3]", "not a MetaLoRA adapter config"),
        (json.dumps({"format": "metalora-adapter", "config": {"method": "dora"}}).encode(), "invalid config"),
        (json.dumps({"format": "metalora-adapter", "format_version": 99, "config": {}}).encode(), "newer"),
    ],
)
def test_corrupt_config_is_refused(tmp_path, content, phrase):
    trained("meta-cp", tmp_path)
    meta = json.loads((tmp_path / CONFIG_NAME).read_text())
    if b"dora" in content:  # keep the fingerprint so that the config itself is what fails
        meta["config"]["method"] = "dora"
        content = json.dumps(meta).encode()
    (tmp_path / CONFIG_NAME).write_bytes(content)
    with pytest.raises(FileFormatError, match=phrase):
        load_adapter(TinyResNet(), tmp_path)


def test_truncated_and_missing_files(tmp_path):
    trained("tr", tmp_path)
    data = (tmp_path / WEIGHTS_NAME).read_bytes()
    (tmp_path / WEIGHTS_NAME).write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError):
        load_adapter(TinyResNet(), tmp_path)
    (tmp_path / WEIGHTS_NAME).unlink()
    with pytest.raises(FileFormatError, match="does not exist"):
        load_adapter(TinyResNet(), tmp_path)
    with pytest.raises(FileFormatError, match="does not exist"):
        load_adapter(TinyResNet(), tmp_path / "nowhere")


def test_custom_feature_source_must_be_passed_again(tmp_path):
    extractor = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 7))
    model = get_model(TinyResNet(), MetaLoRAConfig(method="meta-tr", feature_source=extractor, feature_dim=7))
    model.save_adapter(tmp_path)
    with pytest.raises(ConfigError, match="Pass the same module again"):
        load_adapter(TinyResNet(), tmp_path)
    loaded = load_adapter(TinyResNet(), tmp_path, feature_source=extractor)
    assert loaded.feature_dim == 7
