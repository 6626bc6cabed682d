"""The shipped sample models: they load, their cards are complete, and they are as good as stated."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

from metalora.data import load_builtin
from metalora.errors import ConfigError, TrainingError
from metalora.models import (
    list_architectures,
    list_sample_models,
    load_checkpoint,
    load_sample_model,
    sample_models_dir,
)
from metalora.sample_models import SAMPLES, SampleSpec, _shift, augmented_train, build_sample, main
from metalora.training import evaluate

DIGITS = ["resnet-mini-digits", "mixer-mini-digits", "vit-mini-digits"]
SHIPPED = [n for n in SAMPLES if n in list_sample_models()]
TOLERANCE = 0.005  # half a percentage point


@pytest.fixture(autouse=True)
def _default_sample_folder(monkeypatch):
    monkeypatch.delenv("METALORA_SAMPLE_MODELS", raising=False)


def test_the_digits_samples_are_shipped_and_small():
    assert set(DIGITS) <= set(list_sample_models())
    for name in SHIPPED:
        size = (sample_models_dir() / f"{name}.safetensors").stat().st_size
        assert 50_000 < size < 1_000_000, f"{name}: {size} bytes"


def test_every_architecture_has_a_digits_sample_trained_with_shifted_copies():
    for arch in list_architectures():
        spec = SAMPLES[f"{arch}-digits"]
        assert spec.arch == arch and spec.dataset == "digits" and spec.shifts, arch
        assert f"{arch}-digits" in list_sample_models()


@pytest.mark.parametrize("name", SHIPPED)
def test_card_is_complete_and_matches_the_model(name):
    model, card = load_sample_model(name)
    assert card["name"] == name and card["architecture"] == SAMPLES[name].arch
    assert card["command"].startswith("python -m metalora.sample_models")
    assert card["versions"]["torch"] and card["training"]["config"]["seed"] == 0
    ds = card["dataset"]
    assert ds["name"] == SAMPLES[name].dataset and ds["args"]["domains"] == ["clean"]
    assert card["input"]["channels"] == card["kwargs"]["in_channels"] == model.in_channels
    assert card["num_classes"] == len(card["classes"]) == model.num_classes
    assert card["head"] == model.head_name
    assert not model.training
    mean = model.normalize.mean.flatten().tolist()
    assert mean == pytest.approx(card["normalization"]["mean"])
    assert model.normalize.std.flatten().tolist() == pytest.approx(card["normalization"]["std"])
    n = sum(p.numel() for p in model.parameters())
    assert n == card["num_parameters"]


@pytest.mark.parametrize("name", SHIPPED)
def test_sample_reaches_the_accuracy_its_card_states(name):
    model, card = load_sample_model(name)
    args = card["dataset"]["args"]
    splits = load_builtin(
        card["dataset"]["name"], image_size=args["image_size"], domains=args["domains"], seed=args["seed"]
    )
    assert list(splits.test.class_names) == card["classes"]
    assert len(splits.test) == card["dataset"]["sizes"]["test"]
    res = evaluate(model, splits.test, device="cpu")
    stated = card["metrics"]["clean_test_accuracy"]
    assert abs(res.accuracy - stated) <= TOLERANCE, (res.accuracy, stated)
    if card["dataset"]["name"] == "digits":
        assert res.accuracy >= 0.97
    # logits are usable as they are: finite and confident on clean data
    with torch.no_grad():
        probs = model(torch.from_numpy(splits.test.x[:32])).softmax(-1)
    assert torch.isfinite(probs).all() and probs.max(-1).values.mean() > 0.8


def test_load_checkpoint_finds_samples_by_bare_name():
    model, card = load_checkpoint("resnet-mini-digits")
    assert card["name"] == "resnet-mini-digits" and model.fc.out_features == 10


def test_shift_moves_pixels_and_fills_with_zero():
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    right = _shift(x, 0, 1)
    assert np.array_equal(right[..., 1:], x[..., :-1]) and not right[..., 0].any()
    down = _shift(x, 2, 0)
    assert np.array_equal(down[..., 2:, :], x[..., :2, :]) and not down[..., :2, :].any()


def test_augmentation_keeps_labels_and_leaves_the_originals_first():
    splits = load_builtin("shapes", samples_per_class=3)
    spec = dataclasses.replace(SAMPLES["resnet-mini-shapes"], shifts=((1, 0),))
    aug = augmented_train(splits.train, spec)
    n = len(splits.train)
    assert len(aug) == n * 5  # original, shift, mirror, two channel rotations
    assert np.array_equal(aug.x[:n], splits.train.x)
    assert np.array_equal(aug.y, np.tile(splits.train.y, 5))
    assert np.array_equal(aug.x[2 * n : 3 * n], splits.train.x[..., ::-1])


def test_unknown_sample_name_is_a_config_error():
    with pytest.raises(ConfigError, match="resnet-mini-digits"):
        main(["--only", "resnet-huge-digits"])


def test_build_command_has_help():
    out = subprocess.run(
        [sys.executable, "-m", "metalora.sample_models", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "--only" in out.stdout


def _tiny_spec(lr: float = 1e-2) -> SampleSpec:
    return SampleSpec(
        "tiny-digits",
        "resnet-mini",
        "digits",
        dict(widths=(4, 8)),
        dict(epochs=1, lr=lr, batch_size=128),
    )


@pytest.mark.slow
def test_build_sample_pipeline_writes_a_loadable_checkpoint(tmp_path, capsys):
    card = build_sample(_tiny_spec(), tmp_path, "cmd", allow_below_target=True)
    assert not torch.are_deterministic_algorithms_enabled()  # the global flag is restored
    model, saved = load_checkpoint(tmp_path / "tiny-digits")
    assert saved == {**card, "format": "metalora-checkpoint/1"}
    assert saved["training"]["augmentation"]["training_images"] == saved["dataset"]["sizes"]["train"]
    res = evaluate(model, load_builtin("digits").test, device="cpu")
    assert res.accuracy == pytest.approx(saved["metrics"]["clean_test_accuracy"])
    assert "epoch  1/1" in capsys.readouterr().out


@pytest.mark.slow
def test_build_sample_refuses_to_write_a_model_below_target(tmp_path):
    with pytest.raises(TrainingError, match="nothing was written"):
        build_sample(_tiny_spec(lr=1e-6), tmp_path, "cmd")
    assert not list(tmp_path.iterdir())
