"""train_run / compare: what lands in the registry and on disk, cancel and divergence, aggregates."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch

from metalora.data import DataSpec
from metalora.errors import CancelledError, ConfigError, DataError, ModelError, TrainingError
from metalora.measure import count_flops
from metalora.models import build_model, resolve_model
from metalora.training import TrainConfig, evaluate
from metalora.training.compare import aggregate, compare
from metalora.training.demo import DEMO_TRAIN_CONFIG
from metalora.training.methods import load_trained
from metalora.training.run import train_run
from metalora.training.run_folder import read_run_config
from metalora.training.run_registry import COLUMNS, RunRegistry

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPEC = DataSpec(samples_per_class=10, image_size=16)  # 70 / 15 / 15 images
TINY = TrainConfig(epochs=1, batch_size=16, lr=1e-2, device="cpu")


def small_base(channels: int = 1) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("resnet-mini", in_channels=channels, num_classes=10, widths=(8, 16, 16))


def leftovers(reg: RunRegistry) -> list[str]:
    return sorted(p.name for p in reg.runs_dir.iterdir())


def test_data_spec_round_trip_and_comma_domains():
    spec = DataSpec(domains="clean, inverted", samples_per_class=5)
    assert spec.domains == ("clean", "inverted")
    assert DataSpec.from_dict(spec.to_dict()) == spec
    assert spec.load() is spec.load()  # cached
    assert DEMO_TRAIN_CONFIG.epochs >= 1


def test_tiny_run_lands_in_the_registry_with_all_fields(tmp_path):
    reg = RunRegistry(tmp_path)
    res = train_run(small_base(), SPEC, "meta-tr", TINY, rank=2, registry=reg, model_name="tiny")
    row = reg.get(res.id)
    required = set(COLUMNS) - {"error"}
    missing = [k for k in required if row[k] is None]
    assert not missing, missing
    assert row["status"] == "completed" and row["method"] == "meta-tr" and row["rank"] == 2
    assert row["model"] == "tiny" and row["dataset"] == "digits" and row["domains"] == list(SPEC.domains)
    test = row["metrics"]["test"]
    assert test["n"] == 15 and 0 <= test["accuracy"] <= 1 and row["accuracy"] == test["accuracy"]
    assert set(test["per_domain"]) == set(SPEC.domains) and len(test["per_class"]) == 10
    assert len(row["metrics"]["history"]) == 1 and "val_acc" in row["metrics"]["history"][0]
    assert row["config"]["train"]["epochs"] == 1 and row["config"]["data"] == SPEC.to_dict()
    assert 0 < row["trainable_params"] < row["total_params"]
    assert row["flops"] > row["metrics"]["flops_base"] > 0  # the feature pass and adapters cost FLOPs
    assert row["train_time_s"] > 0 and row["peak_memory_bytes"] > 0 and row["device"] == "cpu"
    assert {"torch", "metalora", "numpy"} <= set(row["versions"])
    # the folder: complete, in the registry's folder, no temp leftovers, reloads to the same accuracy
    folder = reg.owned_folder(row["adapter_path"])
    assert folder is not None and folder.parent == reg.runs_dir
    assert leftovers(reg) == [folder.name]
    assert {"adapter_model.safetensors", "adapter_config.json", "run.json"} <= {
        p.name for p in folder.iterdir()
    }
    assert read_run_config(folder)["config"]["method"] == "meta-tr"
    again = load_trained(small_base(), folder)
    assert evaluate(again, SPEC.load().test).accuracy == pytest.approx(test["accuracy"])


def test_head_run_saves_trained_weights(tmp_path):
    res = train_run(small_base(), SPEC, "head", TINY, out_dir=tmp_path)
    assert res.id is None and res.rank is None and res.trainable_params == 16 * 10 + 10
    again = load_trained(small_base(), res.adapter_path)
    assert evaluate(again, SPEC.load().test).accuracy == pytest.approx(res.accuracy)


def test_without_registry_or_out_dir_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = train_run(small_base(), SPEC, "lora", TINY, rank=1)
    assert res.adapter_path is None and res.id is None and list(tmp_path.iterdir()) == []
    assert res.model is not None and not math.isnan(res.accuracy)


@pytest.mark.parametrize("when", ["during", "after"])
def test_cancel_leaves_no_folder_and_no_row(tmp_path, when):
    reg = RunRegistry(tmp_path)
    stop = threading.Event()

    def callback(p):
        if when == "during" or p.fraction >= 1:  # "after": once training is done, before saving
            stop.set()

    with pytest.raises(CancelledError):
        train_run(small_base(), SPEC, "lora", TrainConfig(epochs=2, batch_size=8, device="cpu"),
                  rank=1, registry=reg, callback=callback, cancel_event=stop)  # fmt: skip
    assert reg.count() == 0
    assert leftovers(reg) == []


def test_diverging_run_is_recorded_as_failed_without_files(tmp_path):
    reg = RunRegistry(tmp_path)
    base = small_base()
    with torch.no_grad():
        base.fc.bias[0] = float("nan")  # every logit row gets a NaN: the loss is NaN at step 1
    with pytest.raises(TrainingError, match="diverged") as err:
        train_run(base, SPEC, "lora", TINY, rank=1, registry=reg)
    (row,) = reg.list()
    assert row["status"] == "failed" and "diverged" in row["error"]
    assert err.value.run_id == row["id"]  # the caller learns which recorded run failed
    assert row["adapter_path"] is None and row["method"] == "lora"
    assert leftovers(reg) == []


def test_caller_module_is_not_modified():
    base = small_base()
    before = {k: v.clone() for k, v in base.state_dict().items()}
    train_run(base, SPEC, "full", TINY)
    train_run(base, SPEC, "meta-tr", TINY, rank=1)
    assert all(torch.equal(before[k], v) for k, v in base.state_dict().items())
    assert all(p.requires_grad for p in base.parameters())
    assert not any("adapter" in n for n, _ in base.named_parameters())


def test_model_names_and_mismatches():
    splits = SPEC.load()
    model, name = resolve_model("arch:resnet-mini", splits)
    again, _ = resolve_model("resnet-mini", splits)
    assert name == "arch:resnet-mini" and model.in_channels == 1
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True)
    )
    with pytest.raises(ConfigError, match="Unknown model"):
        resolve_model("no-such-model", splits)
    with pytest.raises(DataError, match="3-channel images but the data has 1"):
        train_run(small_base(channels=3), SPEC, "lora", TINY)  # checked before anything runs
    unrecorded = small_base(channels=3)
    del unrecorded.arch_kwargs  # a module that does not say what it reads: caught by running it once
    with pytest.raises(ModelError, match="expects images of shape"):
        train_run(unrecorded, SPEC, "lora", TINY)


def test_flops_count_the_feature_pass():
    from metalora.training.methods import prepare

    x = torch.rand(1, 1, 16, 16)
    base_flops = count_flops(small_base(), x)
    lora, _ = prepare(small_base(), "lora", rank=2)
    meta, _ = prepare(small_base(), "meta-cp", rank=2)
    assert base_flops < count_flops(lora, x)
    assert count_flops(meta, x) > 1.9 * base_flops  # a frozen feature pass + the adapted pass


def test_compare_methods_over_seeds(tmp_path):
    reg = RunRegistry(tmp_path)
    seen = []
    res = compare(
        small_base(), SPEC, ["head", "meta-cp"], 2, TINY, ranks=2, registry=reg, callback=seen.append
    )
    assert [(r["method"], r["seed"]) for r in res.rows] == [
        ("head", 0),
        ("meta-cp", 0),
        ("head", 1),
        ("meta-cp", 1),
    ]
    assert reg.count() == 4 and len(leftovers(reg)) == 4
    assert {p.run for p in seen} == {1, 2, 3, 4} and all(p.runs == 4 for p in seen)
    for agg in res.aggregate:
        accs = [r["accuracy"] for r in res.rows if r["method"] == agg["method"]]
        assert agg["n"] == 2 and agg["n_failed"] == 0
        assert agg["accuracy_mean"] == pytest.approx(np.mean(accs))
        assert agg["accuracy_std"] == pytest.approx(np.std(accs, ddof=1), abs=1e-12)
        assert "acc_clean_mean" in agg
    assert res.ranks == {"head": 2, "meta-cp": 2}


def test_compare_with_budget_and_failures():
    res = compare(small_base(), SPEC, ["lora", "meta-cp"], [3], TINY, budget=2000)
    assert res.budget == 2000 and set(res.counts) == {"lora", "meta-cp"}
    assert [r["rank"] for r in res.rows] == [res.ranks["lora"], res.ranks["meta-cp"]]
    assert [r["trainable_params"] for r in res.rows] == [res.counts["lora"], res.counts["meta-cp"]]
    rows = [
        {"method": "a", "seed": 0, "rank": 1, "status": "completed", "accuracy": 0.5},
        {"method": "a", "seed": 1, "rank": 1, "status": "failed", "accuracy": float("nan")},
    ]
    (agg,) = aggregate(rows, ["a"])
    assert agg["n"] == 1 and agg["n_failed"] == 1 and agg["accuracy_mean"] == 0.5
    assert math.isnan(agg["accuracy_std"])  # one run: no spread to report
    with pytest.raises(ConfigError):
        compare(small_base(), SPEC, ["lora"], 0, TINY)


def test_a_run_is_recorded_as_running_while_it_trains(tmp_path):
    reg = RunRegistry(tmp_path)
    seen = []

    def peek(progress) -> None:
        seen.extend(r["status"] for r in reg.list())

    res = train_run(small_base(), SPEC, "lora", TINY, rank=1, registry=reg, callback=peek)
    assert seen and set(seen) == {"running"}  # visible from the first step, so a crash cannot hide it
    (row,) = reg.list()
    assert row["id"] == res.id and row["status"] == "completed" and row["accuracy"] == res.accuracy
    assert read_run_config(res.adapter_path)["status"] == "completed"
