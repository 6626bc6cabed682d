"""Running the method comparison's jobs: one run (:func:`run_job`), the resumable runs file, budgets.

Every job, PEFT's included, trains through :func:`metalora.training.run.train_run`, so every method is
prepared by the registry, counted by the same FLOP counter and trained by the same loop. Runs go to
worker processes (spawned: each registers the PEFT methods itself, see :func:`run_job`), and each
finished run is appended to the runs file at once, so an interrupted grid resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from methods_grid import BUDGET_RANKS, Job, Preset, data_spec, sample_name
from peft_methods import register_peft_methods

from metalora.methods import get_method

__all__ = ["load_runs", "match_rank", "rank_table", "run_all", "run_job", "trainable_count"]


def _reset_peak_rss() -> int:
    """Reset the kernel's resident-set high-water mark (Linux) and return the current RSS in bytes."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_bytes("VmRSS")
    except OSError:
        return 0


def _status_bytes(field: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _adapter_kwargs(job: Job) -> dict[str, Any]:
    """The job's MetaLoRA options (feature source, mapping size, scaling-factor initialisation)."""
    if not get_method(job.method).input_conditioned:
        return {}
    extra = {"mapping_hidden": job.mapping_hidden, "scaling_init_std": job.scaling_init_std}
    return {"feature_source": job.feature_source, **{k: v for k, v in extra.items() if v is not None}}


def run_job(job: Job, device: str = "cpu", threads: int = 1) -> dict[str, Any]:
    """Train and measure one job; a plain dict (JSON-ready). Divergence gives ``status="failed"``."""
    import torch

    from metalora.errors import TrainingError
    from metalora.training.loop import TrainConfig
    from metalora.training.run import train_run

    register_peft_methods()  # in a spawned worker too
    if device == "cpu":
        torch.set_num_threads(threads)
    spec = data_spec(job.dataset, job.samples_per_class)
    config = TrainConfig(epochs=job.epochs, lr=job.lr, batch_size=64, seed=job.seed, device=device)
    alpha = job.alpha_factor * job.rank if job.alpha_factor is not None else None
    row: dict[str, Any] = {**asdict(job), "key": job.key}
    rss0 = _reset_peak_rss()
    t0 = time.perf_counter()
    try:
        res = train_run(
            f"sample:{sample_name(job.backbone, job.dataset)}", spec, job.method, config, rank=job.rank,
            alpha=alpha, adapter_kwargs=_adapter_kwargs(job),
        )  # fmt: skip
    except TrainingError as err:  # diverged: a result of the method, kept
        return {**row, "status": "failed", "error": str(err)}
    except Exception as err:  # a broken set-up: reported, not saved, so a rerun tries again
        return {**row, "status": "error", "error": f"{type(err).__name__}: {err}"}
    peak = res.peak_memory_bytes
    if not str(res.device).startswith("cuda"):  # this run's own peak above the memory the process held before
        peak = max(0, _status_bytes("VmHWM") - rss0)
    val, test = res.metrics["val"], res.metrics["test"]
    row.update(
        status="completed",
        val_accuracy=float(val["accuracy"]),
        accuracy=float(test["accuracy"]),
        per_domain={k: float(v) for k, v in (test.get("per_domain") or {}).items()},
        trainable=int(res.trainable_params),
        flops=int(res.flops),
        flops_base=int(res.metrics["flops_base"]),
        train_time_s=float(res.train_time_s),
        wall_s=time.perf_counter() - t0,
        peak_memory_bytes=int(peak),
        device=str(res.device),
        threads=threads if device == "cpu" else None,
    )
    return row


def _warm_up(job: Job, data: Sequence[tuple[str, int | None]]) -> None:
    """A worker's first run pays for imports, thread pools and data caches: pay them before measuring."""
    import contextlib
    import io

    for dataset, samples_per_class in data:
        data_spec(dataset, samples_per_class).load()
    with contextlib.redirect_stdout(io.StringIO()):
        run_job(job, "cpu", 1)


# ----------------------------------------------------------------------------- budgets
def trainable_count(backbone: str, dataset: str, method: str, rank: int, **adapter_kwargs) -> int:
    """Trainable parameters of ``method`` at ``rank`` on the cell's sample model (PEFT's methods included)."""
    import torch

    from metalora.models import resolve_model
    from metalora.training.methods import prepare

    register_peft_methods()
    spec = data_spec(dataset, 6)
    base, _ = resolve_model(f"sample:{sample_name(backbone, dataset)}", spec.load())
    with torch.random.fork_rng(devices=[]):
        params = prepare(base, method, rank=rank, **adapter_kwargs)[1]
    return sum(p.numel() for p in params)


def match_rank(backbone: str, dataset: str, method: str, budget: int, **kw) -> int:
    """The rank whose trainable count is closest to ``budget``."""
    from metalora.training.methods import closest_rank

    return closest_rank(lambda r: trainable_count(backbone, dataset, method, r, **kw), budget)


def rank_table(preset: Preset, methods: Sequence[str], skip=()) -> dict[tuple[str, str, str, str], int]:
    """(backbone, dataset, budget, method) -> the ranked method's rank matched to that budget."""
    out = {}
    for backbone in preset.backbones:
        for dataset in preset.datasets:
            if (backbone, dataset) in skip:
                continue
            for budget in preset.budgets:
                target = trainable_count(backbone, dataset, "lora", BUDGET_RANKS[budget])
                for m in methods:
                    if get_method(m).ranked:
                        out[(backbone, dataset, budget, m)] = match_rank(backbone, dataset, m, target)
    return out


# ----------------------------------------------------------------------------- the runs file
def load_runs(path: Path) -> dict[str, dict]:
    """The saved runs by key (a later line of the same key wins)."""
    runs: dict[str, dict] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                runs[row["key"]] = row
    return runs


def run_all(jobs: Sequence[Job], runs: dict[str, dict], path: Path, workers: int, device: str) -> None:
    """Run the jobs not in ``runs`` yet, appending each result to ``path`` as soon as it finishes."""
    todo = [j for j in dict.fromkeys(jobs) if j.key not in runs]
    if not todo:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"  {len(todo)} runs to do ({len(jobs) - len(todo)} already saved)", flush=True)
    t0 = time.perf_counter()

    def done(row: dict, i: int) -> None:
        if row["status"] == "error":
            print(f"  [{i}/{len(todo)}] {row['key']}: ERROR {row['error']} (not saved)", flush=True)
            return
        runs[row["key"]] = row
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        acc = f"test {100 * row['accuracy']:.1f}%" if row["status"] == "completed" else row["status"]
        print(
            f"  [{i}/{len(todo)}] {row['backbone']} {row['dataset']} {row['method']} r{row['rank']} "
            f"lr {row['lr']:g} seed {row['seed']} {row['study']}: {acc} ({time.perf_counter() - t0:.0f}s)",
            flush=True,
        )

    if workers <= 1 or device != "cpu":
        for i, job in enumerate(todo, 1):
            done(run_job(job, device, threads=max(1, os.cpu_count() or 1) if device == "cpu" else 1), i)
        return
    warm = replace(todo[0], samples_per_class=6, epochs=1, method="lora", budget=None, rank=1)
    data = sorted({(j.dataset, j.samples_per_class) for j in todo}, key=str)
    context = get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_warm_up, initargs=(warm, data)
    ) as pool:
        futures = [pool.submit(run_job, job, device, 1) for job in todo]
        for i, fut in enumerate(as_completed(futures), 1):
            done(fut.result(), i)
