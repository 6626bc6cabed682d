"""The generic training loop: learning, determinism, progress, cancellation, failure modes."""

from __future__ import annotations

import threading
from dataclasses import fields

import numpy as np
import pytest
import torch
from torch import nn

from metalora.data import DataSplits, ImageDataset
from metalora.errors import CancelledError, ConfigError, DataError, ModelError, TrainingError
from metalora.models import build_model
from metalora.training import EvalResult, FitResult, Progress, TrainConfig, evaluate, fit


def _toy(n: int, seed: int, domains: int = 1) -> ImageDataset:
    """Two separable classes of 1x8x8 images: class 1 has a bright top half."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.uniform(0.0, 0.4, (n, 1, 8, 8)).astype(np.float32)
    x[y == 1, :, :4] += 0.5
    dom = (np.arange(n) // 2) % domains
    return ImageDataset(x, y, dom, ["dark", "bright"], [f"d{i}" for i in range(domains)], f"toy/{seed}")


def _splits(n_train: int = 96) -> DataSplits:
    return DataSplits(_toy(n_train, 0), _toy(40, 1, domains=2), _toy(40, 2, domains=2))


def _tiny(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model("resnet-mini", in_channels=1, num_classes=2, widths=(4, 8))


FAST = dict(epochs=3, batch_size=16, lr=1e-2, device="cpu")


def test_fit_learns_a_separable_problem_and_reports_everything():
    model = _tiny()
    res = fit(model, _splits(), TrainConfig(**FAST))
    assert isinstance(res, FitResult) and isinstance(res.val, EvalResult)
    assert len(res.history) == 3
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    assert res.test is not None and res.test.accuracy >= 0.9 and res.test.n == 40
    assert set(res.test.per_domain) == {"d0", "d1"} and set(res.test.per_class) == {"dark", "bright"}
    assert 1 <= res.best_epoch <= 3
    assert res.val.accuracy == max(h["val_acc"] for h in res.history)
    assert res.device == "cpu" and res.train_time_s > 0 and res.peak_memory_bytes > 10 * 2**20
    assert not model.training  # handed back ready for inference
    lrs = [h["lr"] for h in res.history]
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] == pytest.approx(0.0, abs=1e-9)  # cosine to 0


def test_same_seed_gives_identical_runs_on_cpu():
    runs = []
    for _ in range(2):
        model = _tiny()
        res = fit(model, _splits(), TrainConfig(**FAST, seed=3))
        hist = [{k: v for k, v in h.items() if k not in ("time_s", "samples_per_s")} for h in res.history]
        runs.append((hist, res.test.accuracy, {k: v.clone() for k, v in model.state_dict().items()}))
    (h1, a1, s1), (h2, a2, s2) = runs
    assert h1 == h2 and a1 == a2
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    # and the seed matters: a different one shuffles differently
    res3 = fit(_tiny(), _splits(), TrainConfig(**FAST, seed=4))
    assert res3.history[0]["train_loss"] != h1[0]["train_loss"]


def test_callback_receives_progress_during_and_at_the_end_of_epochs():
    seen: list[Progress] = []
    fit(_tiny(), _splits(), TrainConfig(**FAST, progress_every=2), callback=seen.append)
    ends = [p for p in seen if p.epoch_end]
    assert [p.epoch for p in ends] == [1, 2, 3]
    assert all(p.val_acc is not None and p.step == p.steps_per_epoch == 6 for p in ends)
    mids = [p for p in seen if not p.epoch_end]
    assert mids and all(p.step % 2 == 0 and p.step < p.steps_per_epoch for p in mids)
    assert mids[0].val_acc is None  # no epoch finished yet
    assert all(np.isfinite(p.loss) and 0 <= p.train_acc <= 1 and p.samples_per_s > 0 for p in seen)
    assert seen[-1].eta_s == 0 and seen[-1].fraction == 1.0
    elapsed = [p.elapsed_s for p in seen]
    assert elapsed == sorted(elapsed)


def test_cancel_before_any_epoch_restores_the_starting_weights():
    model = _tiny()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    stop = threading.Event()

    def cb(p: Progress) -> None:
        stop.set()  # the "Stop" button, pressed during epoch 1

    with pytest.raises(CancelledError, match=r"cancelled at epoch 1, step 3.*starting weights"):
        fit(model, _splits(), TrainConfig(**FAST, progress_every=2), callback=cb, cancel_event=stop)
    assert all(torch.equal(start[k], v) for k, v in model.state_dict().items())
    assert not model.training


def test_cancel_later_keeps_the_best_epoch_so_far():
    model, splits = _tiny(), _splits()
    stop, val_at_end = threading.Event(), {}

    def cb(p: Progress) -> None:
        if p.epoch_end:
            val_at_end[p.epoch] = p.val_acc
            if p.epoch == 2:
                stop.set()

    with pytest.raises(CancelledError, match="epoch 3, step 1"):
        fit(model, splits, TrainConfig(**FAST), callback=cb, cancel_event=stop)
    assert evaluate(model, splits.val).accuracy == max(val_at_end.values())


def test_best_epoch_weights_are_restored_at_the_end():
    model, splits = _tiny(), _splits()
    snaps: dict[int, dict] = {}

    def cb(p: Progress) -> None:
        if p.epoch_end:
            snaps[p.epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    res = fit(model, splits, TrainConfig(**{**FAST, "epochs": 4, "lr": 5e-2}), callback=cb)
    best = snaps[res.best_epoch]
    assert all(torch.equal(best[k], v) for k, v in model.state_dict().items())
    assert evaluate(model, splits.val).accuracy == res.val.accuracy


def test_nan_loss_stops_with_a_training_error_and_keeps_finite_weights():
    model = _tiny()
    calls = {"n": 0}

    def poison(module, inputs, output):
        calls["n"] += 1
        return output * float("nan") if calls["n"] == 4 else output

    model.fc.register_forward_hook(poison)
    with pytest.raises(TrainingError, match=r"epoch 1, step 4.*Lower the learning rate"):
        fit(model, _splits(), TrainConfig(**FAST))
    assert all(torch.isfinite(p).all() for p in model.parameters())


class _Exp(nn.Module):
    def forward(self, x):
        return torch.exp(x)  # logits overflow to inf once the weights grow


def test_huge_learning_rate_diverges_into_a_training_error():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2), _Exp())
    with pytest.raises(TrainingError, match=r"diverged.*Lower the learning rate \(now 10; try 1\)"):
        fit(model, _splits(), TrainConfig(epochs=5, batch_size=16, lr=10.0, device="cpu"))
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_non_finite_inputs_are_detected():
    splits = _splits()
    splits.train.x[5, 0, 2, 2] = np.inf  # corrupted after the data set checked itself
    with pytest.raises(TrainingError, match=r"training split.*first at index 5"):
        fit(_tiny(), splits, TrainConfig(**FAST))


def test_only_the_given_or_trainable_parameters_change():
    model = _tiny()
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.fc.parameters():
        p.requires_grad_(True)
    frozen = {k: v.clone() for k, v in model.named_parameters() if not k.startswith("fc.")}
    head = model.fc.weight.clone()
    fit(model, _splits(), TrainConfig(**FAST))
    assert all(torch.equal(frozen[k], v) for k, v in model.named_parameters() if k in frozen)
    assert not torch.equal(head, model.fc.weight)

    model2 = _tiny()
    bias = model2.fc.bias.clone()
    fit(model2, _splits(), TrainConfig(**FAST), params=[model2.fc.weight])
    assert torch.equal(bias, model2.fc.bias)


class _FrozenBackbone(nn.Module):
    """A model whose ``train()`` keeps its backbone in eval mode, like an adapted model may do."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.head = nn.Linear(4, 2)
        self.modes: list[bool] = []
        for p in self.body.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.body.eval()
        return self

    def forward(self, x):
        self.modes.append(self.training)
        return self.head(self.body(x))


def test_the_models_own_train_override_is_respected():
    torch.manual_seed(0)
    model = _FrozenBackbone()
    stats = model.body[1].running_mean.clone()
    fit(model, _splits(), TrainConfig(**FAST))
    assert torch.equal(stats, model.body[1].running_mean)  # BN stayed in eval mode
    assert True in model.modes and False in model.modes  # train steps and eval passes


def test_evaluate_reports_per_class_and_per_domain():
    ds = _toy(40, 7, domains=2)

    class AlwaysDark(nn.Module):
        def forward(self, x):
            return torch.tensor([[1.0, 0.0]]).expand(len(x), 2)

    res = evaluate(AlwaysDark(), ds, batch_size=7, device="cpu")
    assert res.n == 40 and res.accuracy == 0.5
    assert res.per_class == {"dark": 1.0, "bright": 0.0}
    assert res.per_domain == {"d0": 0.5, "d1": 0.5}
    ce = nn.functional.cross_entropy(torch.tensor([[1.0, 0.0]] * 2), torch.tensor([0, 1]))
    assert res.loss == pytest.approx(float(ce), rel=1e-6)


def test_wrong_output_size_and_no_trainable_parameters_are_model_errors():
    wrong = build_model("resnet-mini", in_channels=1, num_classes=5, widths=(4,))
    with pytest.raises(ModelError, match="num_classes=2"):
        fit(wrong, _splits(), TrainConfig(**FAST))
    frozen = _tiny().requires_grad_(False)
    with pytest.raises(ModelError, match="no trainable parameters"):
        fit(frozen, _splits(), TrainConfig(**FAST))


def test_empty_validation_split_is_a_data_error():
    s = _splits()
    with pytest.raises(DataError, match="validation"):
        fit(_tiny(), DataSplits(s.train, s.val.subset([]), s.test), TrainConfig(**FAST))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epochs", 0),
        ("epochs", 2.5),
        ("lr", 0.0),
        ("lr", float("nan")),
        ("batch_size", 0),
        ("weight_decay", -1.0),
        ("seed", -1),
        ("device", "tpu"),
        ("bf16", "yes"),
        ("max_grad_norm", 0.0),
        ("warmup_frac", 1.0),
        ("progress_every", 0),
    ],
)
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ConfigError, match=f"TrainConfig.{field}="):
        TrainConfig(**{field: value})


def test_default_config_is_valid_and_progress_has_the_documented_fields():
    cfg = TrainConfig()
    assert (cfg.epochs, cfg.lr, cfg.batch_size, cfg.weight_decay, cfg.seed) == (5, 3e-3, 64, 0.0, 0)
    assert cfg.device == "auto" and cfg.bf16 is True and cfg.max_grad_norm is None
    names = {f.name for f in fields(Progress)}
    assert {"epoch", "epochs", "step", "steps_per_epoch", "loss", "train_acc", "val_acc"} <= names
    assert {"samples_per_s", "eta_s", "elapsed_s"} <= names


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_on_cuda_with_bf16():
    res = fit(_tiny(), _splits(), TrainConfig(**{**FAST, "device": "cuda"}, bf16=True))
    assert res.device.startswith("cuda") and res.test.accuracy >= 0.9
    assert 0 < res.peak_memory_bytes < 2**30


def test_batches_cover_every_index_once_when_a_single_one_is_left_over():
    from metalora.training.evaluate import chunks

    for n, size in [(5, 4), (9, 4), (13, 4), (8, 4), (1, 4), (65, 16)]:
        parts = chunks(torch.arange(n), size)
        assert torch.equal(torch.cat(parts), torch.arange(n))  # none lost, none twice (13 -> 4, 4, 5)
        assert all(len(p) > 1 for p in parts) or n == 1


def test_the_feature_cache_runs_the_feature_pass_in_the_first_epoch_only_and_changes_nothing():
    """From the second epoch on the frozen feature pass is read from the cache: the same training, bit for bit
    on CPU, with the backbone's feature pass run once per training image instead of once per epoch."""
    from metalora import MetaLoRAConfig, get_model

    results, passes = {}, {}
    for cache in (True, False):
        torch.manual_seed(0)
        model = get_model(_tiny(), MetaLoRAConfig(method="meta-tr", rank=2))
        calls = []
        real = model._features
        model._features = lambda x, *a, calls=calls, real=real, **k: (
            calls.append(x.shape[0]) or real(x, *a, **k)
        )
        config = TrainConfig(**{**FAST, "epochs": 3}, cache_features=cache)
        results[cache] = fit(model, _splits(), config)
        passes[cache] = calls
        state = {k: v.clone() for k, v in model.adapter_state_dict().items()}
        results[cache] = (results[cache], state)
    (with_cache, s1), (without, s2) = results[True], results[False]
    untimed = [{k: v for k, v in h.items() if k not in ("time_s", "samples_per_s")} for h in without.history]
    assert [
        {k: v for k, v in h.items() if k not in ("time_s", "samples_per_s")} for h in with_cache.history
    ] == untimed
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    splits = _splits()
    # without the cache every epoch's steps and validation run the feature pass; with it, the first epoch's
    # only (the final test pass runs it in both)
    assert sum(passes[False]) - sum(passes[True]) == 2 * (len(splits.train) + len(splits.val))
