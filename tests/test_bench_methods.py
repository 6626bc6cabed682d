"""The method-comparison benchmark: its protocol (rates picked on validation, never on test; all seeds
reported), its resumable runs file and its report, on a tiny grid and on synthetic runs; the PEFT peers
train through the method registry and ``train_run`` like the library's methods."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_methods  # noqa: E402
import methods_grid  # noqa: E402
import report_methods  # noqa: E402
import report_select  # noqa: E402
from peft_methods import PEFT_LORA, register_peft_methods  # noqa: E402

import metalora.methods  # noqa: E402
from metalora.methods import get_method, method_ids, method_label  # noqa: E402

HAS_PEFT = importlib.util.find_spec("peft") is not None


@pytest.fixture(autouse=True)
def _library_registry(monkeypatch):
    """The benchmark registers its PEFT peers; the other test modules must still see the library's own table."""
    monkeypatch.setattr(metalora.methods, "_METHODS", dict(metalora.methods._METHODS))


def _row(method, lr, seed, val, test, budget="small", **kw):
    return {
        "backbone": "resnet-mini", "dataset": "digits-4", "method": method, "budget": budget, "rank": 4,
        "lr": lr, "seed": seed, "epochs": 1, "study": "main", "status": "completed", "val_accuracy": val,
        "accuracy": test, "per_domain": {"clean": test, "inverted": test}, "trainable": 100, "flops": 10**6,
        "flops_base": 10**6, "train_time_s": 1.0, "peak_memory_bytes": 2**20, "device": "cpu", "threads": 1,
        **kw,
    }  # fmt: skip


def test_the_rate_is_chosen_on_validation_and_every_seed_is_reported():
    rows = [
        _row("lora", 0.01, 0, val=0.9, test=0.5),  # best on validation, worse on test
        _row("lora", 0.1, 0, val=0.8, test=0.99),  # best on test: must not be picked
        _row("lora", 0.01, 1, val=0.9, test=0.7),
        _row("lora", 0.01, 2, val=0.9, test=0.6),
    ]
    group = report_select.final_groups(rows)[("resnet-mini", "digits-4", "lora", "small")]
    assert group["lr"] == 0.01
    mean, sd, n = report_select.summary(group)["acc"]
    assert n == 3 and mean == pytest.approx(0.6) and sd == pytest.approx(0.1)


def test_a_diverged_run_is_counted_and_left_out_of_the_mean():
    rows = [_row("lora", 0.01, 0, 0.9, 0.5), {**_row("lora", 0.01, 1, 0.9, 0.0), "status": "failed"}]
    s = report_select.summary(report_select.final_groups(rows)[("resnet-mini", "digits-4", "lora", "small")])
    assert s["acc"][2] == 1 and s["failed"] == 1


def test_differences_mark_only_what_exceeds_two_standard_errors():
    text, d, se = report_select.diff_cell([0.80, 0.82, 0.81], [0.60, 0.61, 0.62])
    assert d == pytest.approx(0.2) and text.endswith("*")
    text, d, se = report_select.diff_cell([0.80, 0.60, 0.70], [0.70, 0.72, 0.68])
    assert abs(d) < 2 * se and not text.endswith("*")


def test_the_report_says_where_metalora_does_not_beat_lora(tmp_path):
    rows = []
    for m, acc in [("lora", 0.8), ("meta-tr", 0.7), ("meta-cp", 0.75), ("tr", 0.6), ("cp", 0.6)]:
        rows += [_row(m, 0.01, s, 0.8, acc + 0.01 * s) for s in range(3)]
    out = tmp_path / "results.md"
    out.write_text("# R\n\nkept above\n", encoding="utf-8")
    body = report_methods.write_report(
        rows, preset_name="test", out=out, figures=tmp_path / "f.html", readme=None, command="cmd",
        methods=["lora", "tr", "cp", "meta-tr", "meta-cp"], lr_grids={"lora": (0.01,)},
    )  # fmt: skip
    assert f"{method_label('meta-cp')} is below LoRA (-5.0 ± 0.8 points)" in body
    assert "| resnet-mini · digits-4 | small | +10.0 ± 0.8 * | +15.0 ± 0.8 * |" in body
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# R\n\nkept above") and report_methods.START in text
    assert "plotly" in (tmp_path / "f.html").read_text(encoding="utf-8").lower()


def test_the_smoke_grid_runs_resumes_and_reports(tmp_path):
    runs, out, figs, readme = (
        tmp_path / "runs.jsonl",
        tmp_path / "r.md",
        tmp_path / "f.html",
        tmp_path / "README.md",
    )
    readme.write_text("# x\n", encoding="utf-8")
    args = [
        "--preset",
        "smoke",
        "--workers",
        "1",
        "--runs",
        str(runs),
        "--out",
        str(out),
        "--figures",
        str(figs),
    ]
    assert bench_methods.main(args) == 0
    rows = [json.loads(line) for line in runs.read_text(encoding="utf-8").splitlines()]
    main = [r for r in rows if r["study"] == "main"]
    assert {r["method"] for r in main} == {"head", "lora", "meta-tr", "peft-lora"}
    assert all(r["status"] == "completed" and 0 <= r["accuracy"] <= 1 for r in rows)
    assert {r["study"] for r in rows} == {
        "main",
        "rank-sweep",
        "feature-source",
        "alpha",
        "peer-check",
        "seed-init",
        "mapping-size",
        "epochs",
        "epochs-tuned",
    }
    # the adapters were matched to one budget: MetaLoRA-TR's count is the closest to LoRA's at rank 4
    lora = next(r for r in main if r["method"] == "lora")
    meta = next(r for r in main if r["method"] == "meta-tr")
    assert lora["rank"] == 4 and abs(meta["trainable"] - lora["trainable"]) < 0.5 * lora["trainable"]
    text = out.read_text(encoding="utf-8")
    for label in (
        f"| {method_label('head')} |",  # every method by its registry label
        f"| {method_label('lora')} |",
        f"| {method_label('meta-tr')} |",
        f"| {method_label(PEFT_LORA)} |",
        "rank sweep",
        "feature source",
        "alpha = 4",
        "random scaling init",
        "mapping hidden 16",
        "training length (the main grid's 1 epochs vs 2, small budget)",
        "2 epochs, re-tuned rate",
        f"{method_label('meta-tr')} − {method_label('lora')}",
    ):
        assert label in text
    longer = [r for r in rows if r["study"] == "epochs"]  # every method of ours, the main grid's rate
    assert {r["method"] for r in longer} == {"head", "lora", "meta-tr"} and {r["epochs"] for r in longer} == {
        2
    }
    for r in longer:
        twin = next(
            m for m in main if m["method"] == r["method"] and m["seed"] == r["seed"] and m["lr"] == r["lr"]
        )
        assert twin["rank"] == r["rank"] and twin["epochs"] == 1
    # the rate is tuned again for the longer runs: seed 0 at every rate of the grid (either study name), and
    # the other seeds at seed 0's best validation rate among the long runs
    for m in ("head", "lora", "meta-tr"):
        long = [r for r in rows if r["study"] in ("epochs", "epochs-tuned") and r["method"] == m]
        assert {r["epochs"] for r in long} == {2}
        assert set(methods_grid.lr_grid(m)) <= {r["lr"] for r in long if r["seed"] == 0}
        best = report_select.best_val_lr([r for r in long if r["seed"] == 0])
        assert best in [r["lr"] for r in long if r["seed"] == 1]  # (and the main grid's rate, for its column)
    # resuming: nothing is trained again, the report is rebuilt from the saved runs
    n = len(rows)
    assert bench_methods.main([*args, "--write-readme", "--readme", str(readme)]) == 0
    assert len(runs.read_text(encoding="utf-8").splitlines()) == n
    assert report_methods.README_START in readme.read_text(encoding="utf-8")


def test_the_peft_peers_are_registered_methods_trained_by_train_run(tmp_path):
    assert PEFT_LORA not in method_ids()  # importing the benchmark leaves the library's registry alone
    assert (
        register_peft_methods() == ("peft-lora", "peft-loha") and register_peft_methods()
    )  # twice: no error
    entry = get_method(PEFT_LORA)
    assert (entry.kind, entry.ranked, entry.is_adapter, entry.label("en")) == (
        "peft",
        True,
        False,
        "PEFT LoRA",
    )
    assert set(method_ids(builtin=False)) == {"peft-lora", "peft-loha"}
    assert methods_grid.preset_methods(methods_grid.PRESETS["full"]) == list(method_ids())
    if not HAS_PEFT:
        pytest.skip("PEFT is not installed")
    from metalora.data import DataSpec
    from metalora.training.loop import TrainConfig
    from metalora.training.run import train_run

    spec = DataSpec(samples_per_class=6, image_size=16)
    res = train_run("arch:resnet-mini", spec, PEFT_LORA, TrainConfig(epochs=1, device="cpu"), rank=2)
    assert res.status == "completed" and type(res.model).__name__ == "PeftModel"
    assert 0 < res.trainable_params < res.total_params and res.flops > res.metrics["flops_base"] > 0
    assert res.config["alpha"] == 4.0  # the library's default alpha, 2 x rank


def test_each_rank_of_the_sweep_keeps_its_own_validation_choice():
    rows = [
        _row("lora", 0.01, 0, val=0.5, test=0.9, study="rank-sweep", rank=8),
        _row("lora", 0.001, 0, val=0.7, test=0.6, study="rank-sweep", rank=8),
        _row("lora", 0.001, 1, val=0.7, test=0.5, study="rank-sweep", rank=8),
        _row("lora", 0.01, 0, val=0.8, test=0.4, study="rank-sweep", rank=1),
    ]
    by = report_select.sweep_groups(rows)
    assert [r["accuracy"] for r in by[("lora", 8)]] == [0.6, 0.5]
    assert [r["lr"] for r in by[("lora", 1)]] == [0.01]
