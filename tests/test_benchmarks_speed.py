"""The speed benchmarks run end to end (``--quick`` on tiny settings) and write their tables into a markdown file."""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from metalora.methods import method_label

ROOT = Path(__file__).resolve().parents[1]
HAS_PEFT = importlib.util.find_spec("peft") is not None
SKIP_LINE = "PEFT is not installed: the PEFT LoRA rows"

pytestmark = pytest.mark.slow


def run_bench(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


def block(text: str, marker: str) -> str:
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    assert text.count(start) == 1 and text.count(end) == 1, text
    return text.split(start)[1].split(end)[0]


def test_bench_layers_quick_writes_its_table(tmp_path):
    results = tmp_path / "results.md"
    results.write_text("# Results\n\nkept\n")
    for _ in range(2):  # the second run replaces the block, it does not add one
        out = run_bench(
            "bench_layers.py", "--quick", "--tiny", "--device", "cpu", "--write-results", str(results)
        )
    assert "bench_layers: device cpu" in out
    text = results.read_text()
    assert text.startswith("# Results\n\nkept\n")
    table = block(text, "bench_layers")
    assert "| ÷ PEFT LoRA |" in table
    for method in ("frozen base", "lora", "meta-cp", "meta-tr", "naive-meta-tr"):
        assert f"| {method} |" in table
    assert re.search(
        r"no MetaLoRA layer can train faster .*: [\d.]+× \(meta-cp\) and [\d.]+× \(meta-tr\) on conv", table
    )
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    allocator = "freed memory kept in the process" if glibc else "the system's default"
    assert f"CPU allocator: {allocator}" in table
    if HAS_PEFT:
        assert "| PEFT LoRA |" in table and SKIP_LINE not in out
    else:
        assert SKIP_LINE in out and SKIP_LINE in table


def test_bench_layers_contractions_times_every_path(tmp_path):
    results = tmp_path / "results.md"
    out = run_bench(
        "bench_layers.py", "--contractions", "--quick", "--tiny", "--device", "cpu", "--system-allocator",
        "--write-results", str(results),
    )  # fmt: skip
    table = block(results.read_text(), "bench_contractions")
    assert "CPU allocator: the system's default" in out
    rows = [line.split("|")[1:-1] for line in table.splitlines() if "| 8→8" in line]
    assert [(r[0].strip(), r[1].strip(), r[2].strip()) for r in rows] == [
        (m, s, r) for m in ("MetaLoRA (Tensor Ring)", "MetaLoRA (CP)")
        for s in ("8→8, 8×8", "8→8 stride 2, 8×8") for r in ("4", "8")
    ]  # fmt: skip
    for _, _, _, factored, composed, kernel, picked, ratio in rows:
        ms = {"factored": float(factored), "composed": float(composed), "kernel": float(kernel)}
        assert all(v > 0 for v in ms.values())
        # the table prints ms to 2 decimals: on tiny layers rounding alone moves the ratio by a few percent
        assert float(ratio) == pytest.approx(ms[picked.strip()] / min(ms.values()), rel=0.05)


def test_steady_allocator_reports_whether_it_applies():
    code = (  # in a fresh process: the setting is process-wide and this suite's process should keep the default
        "import sys; sys.path.insert(0, 'benchmarks'); from bench_common import allocator_label, steady_allocator; "
        "s = steady_allocator(); print(s, allocator_label(s))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    expected = "True freed memory kept in the process" if glibc else "False the system's default"
    assert out.stdout.strip() == expected  # glibc here; elsewhere a no-op that says so


def test_bench_training_quick_writes_its_table(tmp_path):
    results = tmp_path / "results.md"  # missing: created with the block
    out = run_bench(
        "bench_training.py", "--quick", "--skip-demo", "--ranks", "2", "--batch", "4",
        "--device", "cpu", "--per-layer", "--write-results", str(results),
    )  # fmt: skip
    assert "bench_training: device cpu" in out
    table = block(results.read_text(), "bench_training")
    for net in ("small ResNet", "plain 64-channel net"):
        for method in ("lora", "meta-tr", "meta-cp"):  # named by their registry labels
            assert f"| {net} | 2 | {method_label(method)} |" in table
        for method in ("meta-tr", "meta-cp"):  # and their steps from the second epoch on (the script
            # raises unless every timed step read the feature cache)
            assert f"| {net} | 2 | {method_label(method)}, features cached (epoch 2 on) |" in table
    layers = block(results.read_text(), "bench_training_layers")
    rows = [line.split("|")[1:-1] for line in layers.splitlines() if line.startswith("| base_model.")]
    names = [r[0].strip() for r in rows]
    assert names[0] == "base_model.stem.0" and names[-1] == "base_model.fc" and len(names) == 10
    shapes = [r[1].strip() for r in rows]
    assert shapes[0].startswith("1→16 3×3, 32×32") and shapes[-1].startswith("linear 64→10")
    for r in rows:
        frozen, lora, tr, diff = (float(v) for v in r[2:6])
        assert min(frozen, lora, tr) > 0 and diff == pytest.approx(tr - lora, abs=0.011)
    total = next(line for line in layers.splitlines() if line.startswith("| **all layers**")).split("|")
    assert float(total[5]) == pytest.approx(sum(float(r[4]) for r in rows), abs=0.1)
    if HAS_PEFT:
        assert (
            "| small ResNet | 2 | PEFT LoRA |" in table
            and "| plain 64-channel net | 2 | PEFT LoRA |" in table
            and "| small ResNet | 2 | PEFT LoRA at rank R² (a Tensor Ring's channels) |" in table
        )
    else:
        assert SKIP_LINE in out and SKIP_LINE in table


@pytest.mark.parametrize("extra", [["--contractions"], ["--rank", "4"]])
def test_bench_layers_keeps_other_tables_out_of_the_readme(extra):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_layers.py"), "--tiny", "--write-readme", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "the README holds the rank-8 layer table only" in proc.stderr


def test_bench_zoo_quick_writes_its_table(tmp_path):
    from metalora.models.zoo import zoo_available

    if not zoo_available("torchvision"):
        if os.environ.get("CI"):
            pytest.fail("torchvision is missing in CI: make test installs the zoo extra.")
        pytest.skip("torchvision is not installed: `make test` installs it (pip install -e .[zoo]).")
    out = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_zoo.py"), "--quick", "--write-results", str(out)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "<!-- bench_zoo:start -->" in text and "| torchvision:resnet18 | 2 | PEFT LoRA |" in text
    assert "| torchvision:resnet18 | 2 | MetaLoRA (Tensor Ring) |" in text
    assert "| torchvision:resnet18 | 2 | MetaLoRA's feature pass alone (a bound) |" in text
    squared = next(line for line in text.splitlines() if "| PEFT LoRA at rank R²" in line).split("|")
    peft = next(line for line in text.splitlines() if "| PEFT LoRA |" in line).split("|")
    assert int(squared[4].replace(",", "")) > int(peft[4].replace(",", "")), "rank 4 trains more than rank 2"
    row = next(line for line in text.splitlines() if "| MetaLoRA (Tensor Ring) |" in line)
    assert any(p in row.split("|")[-2] for p in ("factored", "composed", "kernel"))  # the planner's counts
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_zoo.py"), "--quick", "--inference",
         "--write-results", str(out)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "<!-- bench_zoo:start -->" in text  # the training block is kept
    assert "<!-- bench_zoo_inference:start -->" in text
    assert "| torchvision:efficientnet_b0 | 2 | frozen base |" in text
    assert "| torchvision:efficientnet_b0 | 2 | MetaLoRA's feature pass alone (a bound) |" in text
    row = next(line for line in text.splitlines() if "efficientnet_b0 |" in line and "Tensor Ring" in line)
    assert float(row.split("|")[5]) > 0
