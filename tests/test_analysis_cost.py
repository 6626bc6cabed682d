"""Cost: analytic FLOPs, Pareto front, aggregation over repeats (random seeds), the summaries the accuracy
figures draw, and the measured costs of a model."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from metalora import MetaLoRAConfig, get_model
from metalora.analysis import aggregate_runs, summarise_domains, summarise_epochs
from metalora.analysis.cost import (
    compare_latency,
    cost_report,
    count_flops,
    flops_per_input,
    measure_latency,
    measure_peak_memory,
    measure_storage,
)
from metalora.analysis.runs import pareto_front, pareto_mask
from metalora.errors import ConfigError, DataError, MetaLoRAError
from metalora.models import build_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("bias", [False, True])
def test_conv_flops_are_analytic(bias):
    conv = nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2, bias=bias)
    b, h_out, w_out = 3, 8, 8
    expected = 2 * b * 8 * (4 // 2) * 3 * 3 * h_out * w_out  # 2 × MACs; bias not counted
    assert count_flops(conv, torch.rand(b, 4, 16, 16)) == expected


def test_linear_flops_are_analytic():
    assert count_flops(nn.Linear(64, 10), torch.rand(5, 64)) == 2 * 5 * 64 * 10
    assert count_flops(nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2)), torch.rand(1, 6)) == 2 * (
        6 * 4 + 4 * 2
    )


def _tiny(method="meta-tr"):
    torch.manual_seed(0)
    base = build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16))
    return get_model(base, MetaLoRAConfig(method=method, rank=2)).eval()


def test_flops_of_an_adapted_model():
    model = _tiny()
    x = torch.rand(2, 1, 16, 16)
    f = flops_per_input(model, x)
    with model.adapters_disabled():
        base = count_flops(model.base_model, x) / 2
    assert f["base"] == base and f["extra"] > 0 and f["adapted"] == pytest.approx(f["base"] + f["extra"])
    assert 0 < f["feature_pass"] <= f["base"]
    static = flops_per_input(_tiny("lora"), x)
    assert static["feature_pass"] == 0 and static["extra"] > 0


def test_pareto_front_on_a_hand_made_table():
    rows = [
        {"name": "A", "accuracy": 0.90, "flops": 10},
        {"name": "B", "accuracy": 0.80, "flops": 5},
        {"name": "C", "accuracy": 0.85, "flops": 12},  # worse and dearer than A
        {"name": "D", "accuracy": 0.70, "flops": 5},  # as cheap as B, worse
        {"name": "E", "accuracy": 0.90, "flops": 10},  # a tie with A: both stay
        {"name": "F", "accuracy": 0.95, "flops": 30},
        {"name": "G", "accuracy": math.nan, "flops": 1},
        {"name": "H", "accuracy": 0.99},  # no cost
    ]
    assert pareto_mask(rows).tolist() == [True, True, False, False, True, True, False, False]
    assert [r["name"] for r in pareto_front(rows)] == ["B", "A", "E", "F"]
    assert [r["name"] for r in pareto_front(rows, minimise="missing")] == []


def test_aggregation_gives_mean_and_spread_not_best():
    rows = [
        {"method": "lora", "rank": 4, "seed": s, "accuracy": a, "train_time_s": t, "per_domain": {"clean": a}}
        for s, (a, t) in enumerate([(0.8, 10.0), (0.9, 12.0), (0.7, 11.0)])
    ] + [{"method": "meta-tr", "rank": 4, "seed": 0, "accuracy": 0.95, "per_domain": {"clean": 0.9}}]
    agg = aggregate_runs(rows)
    lora, meta = agg
    assert (lora["method"], lora["n"]) == ("lora", 3)
    assert lora["accuracy_mean"] == pytest.approx(0.8)
    assert lora["accuracy_std"] == pytest.approx(np.std([0.8, 0.9, 0.7], ddof=1))
    assert lora["accuracy_n"] == 3 and lora["per_domain.clean_mean"] == pytest.approx(0.8)
    assert lora["train_time_s_mean"] == pytest.approx(11.0)
    assert "seed_mean" not in lora
    assert meta["n"] == 1 and math.isnan(meta["accuracy_std"]) and meta["train_time_s_n"] == 0
    with pytest.raises(DataError):
        aggregate_runs([])


def test_summaries_for_the_accuracy_figures():
    rows = [
        {
            "method": m,
            "rank": 4,
            "seed": s,
            "epochs": e,
            "accuracy": a,
            "per_domain": {"clean": a, "mirror": a / 2},
        }
        for m, base in (("lora", 0.6), ("meta-tr", 0.8))
        for e in (3, 10)
        for s, a in enumerate([base, base + 0.1])
    ]
    domains = summarise_domains(rows)
    assert [(r["method"], r["rank"], r["n"]) for r in domains] == [("lora", 4, 4), ("meta-tr", 4, 4)]
    assert domains[0]["per_domain.mirror_mean"] == pytest.approx(0.325)
    assert domains[1]["per_domain.clean_std"] == pytest.approx(np.std([0.8, 0.9, 0.8, 0.9], ddof=1))
    no_rank = summarise_domains([{k: v for k, v in r.items() if k != "rank"} for r in rows])
    assert "rank" not in no_rank[0] and no_rank[0]["n"] == 4
    epochs = summarise_epochs(rows)
    assert [(r["method"], r["epochs"], r["n"]) for r in epochs] == [
        ("lora", 3, 2), ("lora", 10, 2), ("meta-tr", 3, 2), ("meta-tr", 10, 2)
    ]  # fmt: skip
    assert epochs[0]["accuracy_mean"] == pytest.approx(0.65) and "per_domain.clean_mean" not in epochs[0]
    with pytest.raises(DataError, match="epochs"):
        summarise_epochs([{"method": "lora", "accuracy": 0.5}])
    with pytest.raises(DataError, match="per-domain"):
        summarise_domains([{"method": "lora", "accuracy": 0.5}])
    with pytest.raises(DataError, match="no runs"):
        summarise_domains([])


def test_measured_costs(tmp_path):
    model = _tiny()
    x = torch.rand(4, 1, 16, 16)
    lat = measure_latency(model, x, repeats=3, warmup=1)
    assert lat["repeats"] == 3 and 0 < lat["min_s"] <= lat["median_s"] <= lat["max_s"]
    mem = measure_peak_memory(model, x)
    assert mem["kind"] in ("process RSS", "cuda allocator", "unavailable on this system")
    storage = measure_storage(model)
    model.save_adapter(tmp_path)
    on_disk = sum(p.stat().st_size for p in Path(tmp_path).iterdir())
    assert storage["adapter_bytes"] == on_disk
    n_base = sum(p.numel() for n, p in model.base_model.named_parameters() if "adapter_" not in n)
    assert storage["full_bytes"] >= 4 * n_base
    report = cost_report(model, x, repeats=2, warmup=1)
    trainable, total = model.count_parameters()
    assert (report.trainable, report.total) == (trainable, total)
    assert report.row()["flops"] == report.flops_adapted > report.flops_base
    assert report.latency_base_s is not None and report.batch_size == 4


# ----------------------------------------------------------------------------- paired latency
class Repeated(nn.Module):
    """One linear layer run ``times`` times: ``times`` × the work of a single pass."""

    def __init__(self, times: int):
        super().__init__()
        torch.manual_seed(0)
        self.layer, self.times = nn.Linear(256, 256), times

    def forward(self, x):
        for _ in range(self.times):
            x = self.layer(x)
        return x


def test_paired_latency_finds_the_model_that_does_more_work():
    models = {"once": Repeated(1), "four": Repeated(4)}
    x = torch.rand(64, 256)
    timed = compare_latency(models, x, repeats=7, warmup=1)
    assert timed.reference == "once" and timed.rounds == 7 and timed.batch_size == 64
    assert timed.device == "cpu" and set(timed.median_s) == {"once", "four"}
    assert set(timed.diff_s) == set(timed.diff_iqr_s) == {"four"}  # no difference to itself
    assert all(len(timed.times_s[n]) == 7 for n in models)
    for name in models:  # every model's own median of its rounds
        assert timed.median_s[name] == statistics.median(timed.times_s[name]) > 0
    assert timed.median_s["four"] > timed.median_s["once"]
    rounds = [a - b for a, b in zip(timed.times_s["four"], timed.times_s["once"], strict=True)]
    assert timed.diff_s["four"] == statistics.median(rounds) > 0  # paired: round by round
    assert timed.diff_iqr_s["four"] >= 0
    assert timed.per_input_s(timed.diff_s["four"]) == pytest.approx(timed.diff_s["four"] / 64)
    assert timed.to_dict()["diff_s"]["four"] == timed.diff_s["four"]


def test_paired_latency_takes_turns_in_inference_mode_and_restores_the_mode():
    calls = []

    class Recorder(nn.Module):
        def __init__(self, name):
            super().__init__()
            self.name, self.lin = name, nn.Linear(3, 3)

        def forward(self, x):
            calls.append((self.name, torch.is_inference_mode_enabled(), self.training))
            return self.lin(x)

    a, b = Recorder("a"), Recorder("b").eval()
    a.train()
    timed = compare_latency({"a": a, "b": b}, torch.rand(2, 3), repeats=3, warmup=1, reference="b")
    # warm-up (reversed), then the timed rounds: in order, reversed, in order
    assert [c[0] for c in calls] == ["b", "a", "a", "b", "b", "a", "a", "b"]
    assert all(inference and not training for _, inference, training in calls)
    assert a.training and not b.training
    assert timed.reference == "b" and set(timed.diff_s) == {"a"}


def test_paired_latency_with_one_round():
    timed = compare_latency(
        {"once": Repeated(1), "four": Repeated(4)}, torch.rand(2, 256), repeats=1, warmup=0
    )
    assert timed.rounds == 1 and [len(t) for t in timed.times_s.values()] == [1, 1]
    assert timed.diff_s["four"] == timed.times_s["four"][0] - timed.times_s["once"][0]
    assert timed.diff_iqr_s["four"] == 0.0
    alone = compare_latency({"only": Repeated(1)}, torch.rand(2, 256), repeats=1)
    assert alone.diff_s == {} and alone.median_s["only"] > 0


@pytest.mark.parametrize(
    ("models", "x", "kwargs", "error", "match"),
    [
        ({"m": Repeated(1)}, torch.empty(0, 256), {}, DataError, "no inputs"),
        ({}, torch.rand(2, 256), {}, ConfigError, "no models"),
        ({"m": Repeated(1)}, torch.rand(2, 256), {"repeats": 0}, ConfigError, "repeats"),
        ({"m": Repeated(1)}, torch.rand(2, 256), {"warmup": -1}, ConfigError, "warmup"),
        ({"m": Repeated(1)}, torch.rand(2, 256), {"reference": "x"}, ConfigError, "reference"),
    ],
)
def test_paired_latency_rejects_what_it_cannot_time(models, x, kwargs, error, match):
    with pytest.raises(error, match=match) as caught:
        compare_latency(models, x, **kwargs)
    assert isinstance(caught.value, MetaLoRAError)
