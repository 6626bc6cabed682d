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


def same_base() -> TinyResNet:
    """The base every adapter here is trained on (the same weights each call)."""
    torch.manual_seed(0)
    return TinyResNet()


def trained(method: str, tmp_path, **kw):
    model = get_model(same_base(), MetaLoRAConfig(method=method, **{"rank": 3, **kw})).eval()
    randomise_adapters(model)
    model.save_adapter(tmp_path)
    return model


@pytest.mark.parametrize("method", METHODS)
def test_round_trip_gives_identical_outputs(method, tmp_path):
    model = trained(method, tmp_path)
    x = torch.rand(4, 3, 8, 8)
    loaded = load_adapter(same_base(), tmp_path).eval()
    assert torch.equal(loaded(x), model(x))
    meta = read_adapter_config(tmp_path)
    assert meta["config"]["method"] == method and meta["layers"][0]["name"] == "stem"
    assert not list(tmp_path.glob("*.tmp")), "no temporary files may be left behind"


def test_rank_mapping_and_targets_survive_round_trip(tmp_path):
    cfg = dict(rank={"fc": 2, "default": 4}, target_modules=["stem", "fc"])
    model = trained("meta-cp", tmp_path, **cfg)
    loaded = load_adapter(same_base(), tmp_path)
    assert {n: a.rank for n, a in loaded.adapted_layers().items()} == {"stem": 4, "fc": 2}
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(loaded.eval()(x), model(x))


def test_different_base_is_refused_with_what_differs(tmp_path):
    trained("meta-tr", tmp_path)
    with pytest.raises(ModelError, match="different architecture") as err:
        load_adapter(TinyResNet(c=8), tmp_path)
    assert "different shapes" in str(err.value) and "stem.weight" in str(err.value)
    with pytest.raises(ModelError, match="missing in this model"):
        load_adapter(TinyMixer(), tmp_path)


def test_same_architecture_with_other_weights_is_refused_unless_asked(tmp_path):
    model = trained("meta-tr", tmp_path)
    torch.manual_seed(1)  # the same architecture, other weights
    other = TinyResNet()
    with pytest.raises(ModelError, match="same architecture with other weights") as err:
        load_adapter(other, tmp_path)
    assert "check_weights=False" in str(err.value)
    loaded = load_adapter(other, tmp_path, check_weights=False)  # the explicit override
    ours = dict(model.adapter_state_dict())
    assert all(torch.equal(t, ours[n]) for n, t in loaded.adapter_state_dict().items())


def test_a_head_trained_in_full_is_saved_and_restored(tmp_path):
    torch.manual_seed(0)
    base = TinyResNet()
    base.fc = torch.nn.Linear(base.fc.in_features, 7)  # a new head, sized to the data's classes
    model = get_model(base, MetaLoRAConfig(method="meta-cp", rank=2, modules_to_save=["fc"]))
    assert "fc" not in model.adapted_layers() and set(model.modules_to_save()) == {"fc"}
    assert all(p.requires_grad for p in model.base_model.fc.parameters())
    rows = {r["name"]: r for r in model.layer_table()}
    assert rows["fc"]["trainable"] == 7 * base.fc.in_features + 7 and rows["fc"]["rank"] is None
    trainable, _ = model.count_parameters()
    assert trainable >= rows["fc"]["trainable"] + sum(r["trainable"] for r in rows.values() if r["rank"])
    with torch.no_grad():
        model.base_model.fc.weight.normal_()  # "training" the head
    model.save_adapter(tmp_path)
    torch.manual_seed(0)
    fresh = TinyResNet()
    fresh.fc = torch.nn.Linear(fresh.fc.in_features, 7)  # another random head: the adapter carries it
    loaded = load_adapter(fresh, tmp_path).eval()
    assert torch.equal(loaded.base_model.fc.weight, model.base_model.fc.weight)
    x = torch.rand(3, 3, 8, 8)
    assert torch.equal(loaded(x), model.eval()(x))


def test_saving_warns_about_a_head_unfrozen_by_hand(tmp_path):
    model = get_model(TinyResNet(), MetaLoRAConfig(method="lora", rank=2, target_modules="all-conv"))
    model.base_model.fc.requires_grad_(True)  # trained, but not part of the adapter
    with pytest.warns(UserWarning, match="will not be saved.*modules_to_save"):
        model.save_adapter(tmp_path)


def test_base_is_left_untouched_when_weights_are_inconsistent(tmp_path):
    trained("lora", tmp_path)
    tensors = {"base_model.stem.adapter_A": torch.zeros(3, 3, 3, 3)}  # wrong shape, the rest missing
    save_file(tensors, tmp_path / WEIGHTS_NAME)
    base = same_base()
    with pytest.raises(FileFormatError, match="does not fit its config"):
        load_adapter(base, tmp_path)
    assert type(base.stem).__name__ == "Conv2d" and all(p.requires_grad for p in base.parameters())


def test_dtype_mismatch_is_refused(tmp_path):
    model = trained("cp", tmp_path)
    tensors = {n: t.double() for n, t in model.adapter_state_dict().items()}
    save_file(tensors, tmp_path / WEIGHTS_NAME)
    with pytest.raises(FileFormatError, match="float64"):
        load_adapter(same_base(), tmp_path)


def test_pickle_dressed_as_adapter_is_refused_and_never_executed(tmp_path):
    trained("meta-tr", tmp_path)
    marker = tmp_path / "pwned"
    (tmp_path / WEIGHTS_NAME).write_bytes(pickle.dumps({"x": PicklePayload(marker)}))
    with pytest.raises(FileFormatError, match="not a safetensors file"):
        load_adapter(same_base(), tmp_path)
    assert not marker.exists()
    torch.save({"x": torch.zeros(2)}, tmp_path / WEIGHTS_NAME)  # a zip-based torch pickle
    with pytest.raises(FileFormatError, match="safetensors"):
        load_adapter(same_base(), tmp_path)


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
        load_adapter(same_base(), tmp_path)


def test_truncated_and_missing_files(tmp_path):
    trained("tr", tmp_path)
    data = (tmp_path / WEIGHTS_NAME).read_bytes()
    (tmp_path / WEIGHTS_NAME).write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError):
        load_adapter(same_base(), tmp_path)
    (tmp_path / WEIGHTS_NAME).unlink()
    with pytest.raises(FileFormatError, match="does not exist"):
        load_adapter(same_base(), tmp_path)
    with pytest.raises(FileFormatError, match="does not exist"):
        load_adapter(same_base(), tmp_path / "nowhere")


def test_custom_feature_source_must_be_passed_again(tmp_path):
    extractor = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 7))
    model = get_model(same_base(), MetaLoRAConfig(method="meta-tr", feature_source=extractor, feature_dim=7))
    model.save_adapter(tmp_path)
    with pytest.raises(ConfigError, match="Pass the same module again"):
        load_adapter(same_base(), tmp_path)
    loaded = load_adapter(same_base(), tmp_path, feature_source=extractor)
    assert loaded.feature_dim == 7
