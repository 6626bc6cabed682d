"""The command line: help for every command, a tiny train through a subprocess, runs, errors (exit 2)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from metalora.cli import build_parser, fmt, main, table
from metalora.training.demo import DEMO_METHOD

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--model", "arch:resnet-mini", "--samples-per-class", "10", "--image-size", "16", "--epochs", "1"]
COMMANDS = [[], ["train"], ["evaluate"], ["compare"], ["runs"], ["runs", "list"], ["runs", "show"],
            ["runs", "export"], ["runs", "delete"]]  # fmt: skip


def run_cli(*args: str, home: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "METALORA_HOME": str(home), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "metalora", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )


def _parsers(parser: argparse.ArgumentParser, path=()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_option_of_every_command_has_help():
    seen = set()
    for path, parser in _parsers(build_parser()):
        seen.add(path)
        for action in parser._actions:
            assert action.help, f"{' '.join(path)}: {action.option_strings or action.dest} has no help"
    assert {tuple(c) for c in COMMANDS} <= seen


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "metalora")
def test_help_for_each_command(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: metalora") and "--help" in text
    if command == ["train"]:
        for option in (
            "--model",
            "--method",
            "--rank",
            "--domains",
            "--epochs",
            "--lr",
            "--home",
            "--no-save",
        ):
            assert option in text


def test_table_and_cells():
    text = table([["lora", fmt(0.9123, "pct"), fmt(16408, "int")]], ["method", "acc", "params"])
    lines = text.splitlines()
    assert lines[0].split() == ["method", "acc", "params"] and lines[2].split() == ["lora", "91.2%", "16,408"]
    assert fmt(12_400_000, "si") == "12.4 M" and fmt(float("nan")) == "-" and fmt(None) == "-"


def test_train_then_runs_through_subprocesses(tmp_path, capsys, monkeypatch):
    done = run_cli("train", *TINY, "--method", "meta-cp", "--rank", "2", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "epoch 1/1" in done.stderr  # progress on stderr
    assert "test accuracy" in done.stdout and "trainable / total params" in done.stdout
    listed = run_cli("runs", "list", home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    header, _rule, row, *rest = listed.stdout.splitlines()
    assert header.split()[:5] == ["id", "created", "model", "data", "method"]
    assert row.split()[0] == "1" and "meta-cp" in row and "completed" in row
    assert "1 run(s)" in rest[-1]
    # the same registry from this process: the saved adapter evaluates to the recorded accuracy
    monkeypatch.setenv("METALORA_HOME", str(tmp_path))
    capsys.readouterr()
    assert main(["runs", "show", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["config"]["train"]["epochs"] == 1 and record["rank"] == 2
    assert main(["evaluate", "--run", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(record["accuracy"])
    assert main(["evaluate", "--adapter", record["adapter_path"], "--split", "val"]) == 0
    assert "domain" in capsys.readouterr().out


def test_errors_exit_2_with_one_line(tmp_path, capsys):
    done = run_cli("train", *TINY, "--method", "dora", home=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("metalora: error: method='dora' is not supported")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    (tmp_path / "runs.sqlite").write_bytes(b"garbage" * 100)
    assert main(["runs", "list", "--home", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cannot be read" in err and len(err.strip().splitlines()) == 1
    assert main(["train", *TINY, "--domains", "clean,sepia", "--no-save"]) == 2
    assert "Unknown domain 'sepia'" in capsys.readouterr().err


def test_runs_in_process(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("METALORA_HOME", str(tmp_path))
    assert main(["runs", "show", "3"]) == 2
    assert "No run with id 3" in capsys.readouterr().err
    from metalora.training.run_registry import RunRegistry

    reg = RunRegistry(tmp_path)
    folder = reg.runs_dir / "r1"
    folder.mkdir()
    run_id = reg.add({"method": "lora", "dataset": "digits", "accuracy": 0.5, "adapter_path": str(folder)})
    assert main(["runs", "list", "--method", "lora"]) == 0
    assert "50.0%" in capsys.readouterr().out
    assert main(["runs", "export", str(tmp_path / "x.csv")]) == 0
    assert (tmp_path / "x.csv").read_text().count("\n") == 2
    assert main(["runs", "delete", str(run_id)]) == 0
    assert not folder.exists() and reg.count() == 0


def test_compare_in_process(tmp_path, capsys):
    code = main(["compare", *TINY, "--methods", "head,lora", "--seeds", "2", "--rank", "1", "--home", str(tmp_path),
                 "--csv", str(tmp_path / "rows.csv"), "--quiet"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["method", "rank", "trainable", "accuracy"]
    assert out[2].split()[0] == "head" and out[3].split()[0] == "lora"
    assert (tmp_path / "rows.csv").read_text().count("\n") == 5


def test_library_never_imports_streamlit():
    code = "import sys, metalora, metalora.cli, metalora.training.run, metalora.training.distributed; " \
           "print('streamlit' in sys.modules)"  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


def test_train_with_input_statistics_records_the_feature_source(tmp_path, capsys):
    code = main(["train", *TINY, "--method", "meta-cp", "--rank", "2", "--feature-source", "input-stats",
                 "--home", str(tmp_path), "--json", "--quiet"])  # fmt: skip
    assert code == 0
    from metalora.training.run_registry import RunRegistry

    (row,) = RunRegistry(tmp_path).list()
    assert row["config"]["adapter"]["feature_source"] == "input-stats"
    with pytest.raises(SystemExit) as exit_:
        main(["train", *TINY, "--feature-source", "pixels", "--home", str(tmp_path)])
    assert exit_.value.code == 2 and "input-stats" in capsys.readouterr().err


def test_a_model_that_does_not_fit_the_data_is_refused_in_one_line(tmp_path):
    from metalora.models import build_model, save_checkpoint

    torch.manual_seed(0)
    save_checkpoint(
        build_model("resnet-mini", in_channels=3, num_classes=10), tmp_path / "rgb"
    )  # digits: 1 channel
    done = run_cli(
        "train", *TINY, "--model", str(tmp_path / "rgb"), "--method", "lora", "--no-save", home=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "metalora: error: The model reads 3-channel images but the data has 1. Pick a data set with the same "
        "number of colour channels as the model, or another model."
    )
    assert "Traceback" not in done.stderr and "epoch" not in done.stderr  # refused before any training


def test_the_options_read_the_registry_and_the_library_defaults():
    from metalora.data import DataSpec
    from metalora.methods import DEFAULT_RANK, method_ids
    from metalora.training.records import TrainConfig

    parser = build_parser()
    args = parser.parse_args(["train"])
    assert (
        args.rank == DEFAULT_RANK
        and args.device == TrainConfig().device
        and args.epochs == TrainConfig().epochs
    )
    assert args.domains == ",".join(DataSpec().domains)
    train = dict(_parsers(parser))[("train",)]
    text = " ".join(train.format_help().split())  # as printed, line breaks folded
    assert f"one of {', '.join(method_ids())} (default: {DEMO_METHOD})" in text
    assert f"LoRA r (default: {DEFAULT_RANK})" in text
    evaluate = dict(_parsers(parser))[("evaluate",)]
    device_help = {p: {a.dest: a.help for a in sub._actions}["device"] for p, sub in [(("train",), train),
                                                                                    (("evaluate",), evaluate)]}  # fmt: skip
    assert device_help[("train",)] == device_help[("evaluate",)] and "mps" in device_help[("train",)]
    assert parser.parse_args(["train", "--device", "CUDA:1"]).device == "cuda:1"
    for bad in ("tpu", "cpu:0x", "mps:1"):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(["train", "--device", bad])
        assert exit_.value.code == 2


def test_a_torchvision_model_trains_from_the_command_line_and_evaluates_again(tmp_path):
    from metalora.models.zoo import zoo_available

    if not zoo_available("torchvision"):
        if os.environ.get("CI"):
            pytest.fail("torchvision is missing in CI: make test installs the zoo extra.")
        pytest.skip("torchvision is not installed: `make test` installs it (pip install -e .[zoo]).")
    env = {**os.environ, "METALORA_HOME": str(tmp_path)}
    base = [sys.executable, "-m", "metalora"]
    common = ["--data", "digits", "--domains", "clean", "--samples-per-class", "6", "--image-size", "16"]
    done = subprocess.run(
        [*base, "train", "--model", "torchvision:resnet18", "--model-size", "32", "--method", "meta-cp",
         "--rank", "2", "--epochs", "1", "--device", "cpu", "--json", "--quiet", *common],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["model_name"] == "torchvision:resnet18" and run["config"]["model_options"] == {
        "image_size": 32
    }
    again = subprocess.run(
        [*base, "evaluate", "--adapter", run["adapter_path"], "--json", *common],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["n"] > 0


def test_a_streamed_image_folder_trains_and_evaluates_from_the_command_line(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / "pics" / cls).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8) // (1 if cls == "cat" else 4)
            Image.fromarray(pixels).save(tmp_path / "pics" / cls / f"{i}.png")
    env = {**os.environ, "METALORA_HOME": str(tmp_path / "home")}
    base = [sys.executable, "-m", "metalora"]
    data = ["--data", f"folder:{tmp_path / 'pics'}", "--image-size", "16"]
    done = subprocess.run(
        [*base, "train", "--model", "arch:resnet-mini", "--method", "meta-cp", "--rank", "2", "--epochs", "1",
         "--device", "cpu", "--json", "--quiet", "--augment", *data],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["config"]["data"]["source"] == f"folder:{tmp_path / 'pics'}" and run["dataset"]
    again = subprocess.run(
        [*base, "evaluate", "--adapter", run["adapter_path"], "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["n"] > 0  # rebuilt from the recorded source, no --data needed
    bad = subprocess.run([*base, "train", "--data", "tarball:/nowhere", "--epochs", "1"], env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "tarball" in bad.stderr
