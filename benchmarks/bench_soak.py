"""A whole day of meetings in one process: N demos in a row through the dashboard's own job layer.

    .venv/bin/python benchmarks/bench_soak.py                  # 20 demos, the library's demo settings
    .venv/bin/python benchmarks/bench_soak.py --runs 5 --epochs 1 --samples 10   # a smaller demo (said so)
    .venv/bin/python benchmarks/bench_soak.py --quick          # 3 demos, 1 epoch, 10 images per class
    .venv/bin/python benchmarks/bench_soak.py --one-session    # every demo in the same session

Each demo is what Home's "Run the demo" does: the dashboard runs under Streamlit's AppTest in this
process, the button is pressed, ``app.demo_job.start_demo`` starts an ``app.jobs.TrainingJob`` (two runs:
LoRA and MetaLoRA-TR), the job's thread trains and records them, and one more script run takes the runs
into the session. By default every demo opens a new session and the previous one is dropped, as each
meeting opens a new tab and closes it; ``--one-session`` keeps one session for all of them (it then holds
every run, so its memory grows by design). The run registry and run folders are in a temporary folder.

After every demo (and a garbage collection) the script prints the process's resident memory (RSS), its
threads (the operating system's count, torch's pools included, and Python's) and its open file
descriptors (``/proc/self/fd``). It checks that every run is recorded in the registry as completed with its
folder, that threads and descriptors do not grow after the first demo, and that memory grows by less than
``--limit-mib`` from the 2nd demo to the last. Its last line states that growth, with PASS or FAIL (the exit
status is 1 on any FAIL). AppTest runs the pages and the job layer as the server does, but not
Streamlit's web server itself (its websockets); ``tests/browser/test_long_day.py`` drives that one.

Measured on 2 CPU cores (a shared machine, so the demos' times vary), the demo as users get it: RSS
908.4 MiB after demo 2 and 909.2 MiB after demo 20 (between 842 and 982 MiB on the way), 4 threads and 6
open files after every demo, 40 runs recorded: "memory growth after 20 demos: 0.8 MiB (limit 150 MiB): PASS".
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: `app` and `tests`

from tests import app_support as testkit

MIB = 2**20


@dataclass
class Sample:
    """The process after one demo."""

    demo: int
    seconds: float
    rss: int  # bytes
    os_threads: int
    py_threads: int
    fds: int


@dataclass
class Soak:
    """What a soak measured and found."""

    runs: int
    samples: list[Sample] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)  # the ids the demos' jobs handed to their sessions
    problems: list[str] = field(default_factory=list)  # registry checks that failed

    @property
    def memory_growth_mib(self) -> float:
        """RSS after the last demo minus RSS after the 2nd (the 1st loads torch, models, data, caches)."""
        base = self.samples[1] if len(self.samples) > 1 else self.samples[0]
        return (self.samples[-1].rss - base.rss) / MIB

    def growth(self, count: str) -> int:
        """The most ``count`` (a :class:`Sample` field) rose above its value after the first demo."""
        if len(self.samples) < 2:
            return 0
        return max(getattr(s, count) for s in self.samples[1:]) - getattr(self.samples[0], count)


def rss_bytes() -> int:
    """Resident memory of this process (psutil when installed, else ``VmRSS`` of /proc/self/status)."""
    try:
        import psutil
    except ImportError:
        return _status_field("VmRSS") * 1024
    return int(psutil.Process().memory_info().rss)


def os_threads() -> int:
    """Threads of this process as the operating system counts them (native pools included)."""
    return _status_field("Threads")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _status_field(name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {name} (this needs Linux)")


def measure(demo: int, seconds: float) -> Sample:
    gc.collect()
    return Sample(demo, seconds, rss_bytes(), os_threads(), threading.active_count(), open_fds())


def demo_once(at, timeout: float):
    """Press "Run the demo" in the AppTest session ``at``, wait for the job, take its runs; the job."""
    at.button(key="run_demo").click().run()
    if at.exception:
        raise RuntimeError(f"the Home page failed: {[e.value for e in at.exception]}")
    job = at.session_state["job"]
    if not job.join(timeout):
        raise TimeoutError(f"the demo did not finish within {timeout:.0f} s")
    at.run()  # the session takes the job's runs (what the page's polling does in a browser)
    if job.status != "done":
        raise RuntimeError(f"the demo ended as {job.status}: {job.error}")
    return job


def check_registry(home: Path, run_ids: list[int]) -> list[str]:
    """Every run the demos handed over is in the registry, completed, with its folder; nothing else is."""
    from metalora.training.run_registry import RunRegistry

    rows = {int(r["id"]): r for r in RunRegistry(home).list()}
    problems = []
    missing = [i for i in run_ids if i not in rows]
    if missing:
        problems.append(f"runs missing from the registry: {missing}")
    extra = sorted(set(rows) - set(run_ids))
    if extra:
        problems.append(f"rows no demo handed over: {extra}")
    for i in run_ids:
        row = rows.get(i)
        if row is None:
            continue
        if row["status"] != "completed":
            problems.append(f"run {i} is {row['status']}: {row.get('error')}")
        if not (row.get("adapter_path") and Path(row["adapter_path"]).is_dir()):
            problems.append(f"run {i} has no run folder ({row.get('adapter_path')})")
    return problems


def soak(
    runs: int,
    *,
    home: Path,
    one_session: bool = False,
    timeout: float = 900.0,
    report=None,
) -> Soak:
    """Run ``runs`` demos in this process with the registry in ``home``; ``report(sample)`` after each.

    The demo's size and the sample model come from the environment (``METALORA_DEMO_EPOCHS``,
    ``METALORA_DEMO_SAMPLES``, ``METALORA_SAMPLE_MODELS``): set them before calling.
    """
    result = Soak(runs)
    with testkit.environment({"METALORA_HOME": str(home)}):
        at = None
        for i in range(1, runs + 1):
            t0 = time.perf_counter()
            if at is None or not one_session:
                at = None  # the previous tab is closed: its session goes
                gc.collect()
                at = testkit.new_app(timeout=timeout)
            job = demo_once(at, timeout)
            result.run_ids += [r.id for r in job.records]
            del job
            sample = measure(i, time.perf_counter() - t0)
            result.samples.append(sample)
            if report:
                report(sample)
        del at
        result.problems = check_registry(home, result.run_ids)
        expected = 2 * runs
        if len(result.run_ids) != expected:
            result.problems.append(f"{len(result.run_ids)} runs were handed over, {expected} expected")
    return result


def budget_text(epochs: int | None, samples: int | None) -> str:
    from metalora.training.demo import DEMO_TRAIN_CONFIG

    if epochs is None and samples is None:
        return f"the demo as users get it ({DEMO_TRAIN_CONFIG.epochs} epochs, every image)"
    e = epochs if epochs is not None else DEMO_TRAIN_CONFIG.epochs
    s = f"{samples} images per class" if samples is not None else "every image"
    return f"a SMALLER demo than users get ({e} epoch(s), {s}; set by --epochs / --samples)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="demos in a row (default 20)")
    ap.add_argument("--epochs", type=int, default=None, help="a smaller demo: epochs per run")
    ap.add_argument("--samples", type=int, default=None, help="a smaller demo: images per class")
    ap.add_argument("--quick", action="store_true", help="3 demos of 1 epoch on 10 images per class")
    ap.add_argument("--one-session", action="store_true", help="every demo in one session (it keeps them)")
    ap.add_argument("--limit-mib", type=float, default=150.0, help="allowed memory growth (default 150)")
    ap.add_argument(
        "--home", type=Path, help="an empty folder to keep the registry in (default: a temporary one)"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.runs = 3 if args.runs == 20 else args.runs
        args.epochs = 1 if args.epochs is None else args.epochs
        args.samples = 10 if args.samples is None else args.samples
    if args.runs < 2:
        ap.error("--runs must be at least 2 (growth is measured from the 2nd demo on)")

    # AppTest reads the session's state from this thread, which has no script context: Streamlit warns
    from streamlit.runtime.scriptrunner_utils import script_run_context

    logging.getLogger(script_run_context.__name__).addFilter(
        lambda r: "ScriptRunContext" not in r.getMessage()
    )
    with tempfile.TemporaryDirectory(prefix="metalora-soak-") as tmp:
        env = testkit.tiny_env(Path(tmp), epochs=1, samples=1)  # a sample model if the repository has none
        if args.home:
            env["METALORA_HOME"] = str(args.home)
        for key, value in (("METALORA_DEMO_EPOCHS", args.epochs), ("METALORA_DEMO_SAMPLES", args.samples)):
            if value is None:
                env.pop(key)
            else:
                env[key] = str(value)
        sessions = "one session for every demo" if args.one_session else "a new session for each demo"
        print(f"bench_soak: {args.runs} demos in one process, {sessions}; registry in {env['METALORA_HOME']}")
        print(f"demo size: {budget_text(args.epochs, args.samples)}")

        def report(s: Sample) -> None:
            print(
                f"demo {s.demo:>2}/{args.runs}: {s.seconds:6.1f} s  RSS {s.rss / MIB:7.1f} MiB  "
                f"threads {s.os_threads} (Python {s.py_threads})  open fds {s.fds}",
                flush=True,
            )

        with testkit.environment(env):
            result = soak(
                args.runs, home=Path(env["METALORA_HOME"]), one_session=args.one_session, report=report
            )

    first, second, last = result.samples[0], result.samples[1], result.samples[-1]
    print(f"RSS after demo 1: {first.rss / MIB:.1f} MiB, after demo 2: {second.rss / MIB:.1f} MiB, "
          f"after demo {last.demo}: {last.rss / MIB:.1f} MiB")  # fmt: skip
    ok = True
    for what, growth in (
        ("threads (OS)", result.growth("os_threads")),
        ("threads (Python)", result.growth("py_threads")),
        ("open fds", result.growth("fds")),
    ):
        verdict = "PASS" if growth <= 0 else "FAIL"
        ok &= growth <= 0
        print(f"{what} growth after demo 1: {growth:+d}: {verdict}")
    n = len(result.run_ids)
    if result.problems:
        ok = False
        print("registry: FAIL: " + "; ".join(result.problems))
    else:
        print(f"registry: all {n} runs recorded as completed, each with its folder: PASS")
    growth = result.memory_growth_mib
    within = growth < args.limit_mib
    ok &= within
    size = "" if args.epochs is None and args.samples is None else " (a smaller demo, see above)"
    print(
        f"memory growth after {args.runs} demos{size}: {growth:.1f} MiB (limit {args.limit_mib:.0f} MiB): "
        f"{'PASS' if within else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
