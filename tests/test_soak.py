"""A short soak (``benchmarks/bench_soak.py --quick``): three demos in a row in one process, through the
dashboard's job layer. Threads and open files must not grow, every run must be recorded as completed;
memory is checked only loosely here (the full 20-demo figure is in docs/reliability.md)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from metalora.training.demo import DEMO_METHODS
from metalora.training.run_registry import RunRegistry
from tests.app_support import ROOT

pytestmark = pytest.mark.slow


def test_three_demos_in_a_row_leak_no_threads_no_files_and_record_every_run(tmp_path):
    home = tmp_path / "home"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_soak.py"), "--quick", "--limit-mib", "400"]
    done = subprocess.run([*cmd, "--home", str(home)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    out = done.stdout
    print(out)  # the figures, with -s
    assert done.returncode == 0, out + done.stderr[-3000:]
    samples = re.findall(r"demo +(\d)/3: .* threads (\d+) \(Python (\d+)\) +open fds (\d+)", out)
    assert [s[0] for s in samples] == ["1", "2", "3"], out
    assert len({s[1:] for s in samples}) == 1, f"threads or open files changed between demos: {samples}"
    for what in ("threads (OS)", "threads (Python)", "open fds"):
        assert f"{what} growth after demo 1: +0: PASS" in out, out
    assert "SMALLER demo" in out  # it says that it is not the demo users get
    last = out.strip().splitlines()[-1]
    growth = re.fullmatch(r"memory growth after 3 demos .*: (-?[\d.]+) MiB \(limit 400 MiB\): PASS", last)
    assert growth, last
    rows = RunRegistry(home).list()  # checked here too, not only by the benchmark
    assert len(rows) == 6 and {r["status"] for r in rows} == {"completed"}
    assert {r["method"] for r in rows} == set(DEMO_METHODS)
