"""The speed benchmarks run end to end (``--quick`` on tiny settings) and write their tables into a markdown file."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

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
    if HAS_PEFT:
        assert "| PEFT LoRA |" in table and SKIP_LINE not in out
    else:
        assert SKIP_LINE in out and SKIP_LINE in table


def test_bench_training_quick_writes_its_table(tmp_path):
    results = tmp_path / "results.md"  # missing: created with the block
    out = run_bench(
        "bench_training.py", "--quick", "--skip-demo", "--ranks", "2", "--batch", "4",
        "--device", "cpu", "--write-results", str(results),
    )  # fmt: skip
    assert "bench_training: device cpu" in out
    table = block(results.read_text(), "bench_training")
    for method in ("LoRA", "meta-tr", "meta-cp"):
        assert f"| 2 | {method} |" in table
    if HAS_PEFT:
        assert "| 2 | PEFT LoRA |" in table
    else:
        assert SKIP_LINE in out and SKIP_LINE in table
