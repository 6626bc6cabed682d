"""Method comparison a skeptic can check: every method, matched budgets, several seeds, tuned on validation.

    python benchmarks/bench_methods.py                 # the full grid (about 1.5 hours on 2 CPU cores)
    python benchmarks/bench_methods.py --preset quick  # one cell, fewer runs: a sanity check in minutes
    python benchmarks/bench_methods.py --report-only   # rebuild docs/results.md from the saved runs

What runs (preset ``full``):

* **cells**: backbones ``resnet-mini`` and ``mixer-mini`` (the shipped sample models, trained on clean
  data) x data ``digits-4`` (the demo's 4-domain mix), ``digits-6`` (a harder 6-domain mix) and
  ``shapes-4`` (the 3-channel built-in set with 4 colour / background domains);
* **methods**: head only, full fine-tuning, LoRA, static CP, static TR, MetaLoRA-CP, MetaLoRA-TR, and the
  peer baselines Hugging Face PEFT LoRA and PEFT LoHa (optional: ``pip install -r requirements-bench.txt``;
  without PEFT their rows are left out and the report says so);
* **budgets**: the adapter methods' ranks are matched to two trainable-parameter budgets per backbone,
  *small* = LoRA at rank 4 and *large* = LoRA at rank 16 (every adapter targets every Conv2d and Linear);
* **protocol**: the learning rate of every (backbone, method, budget) is picked from a small grid by the
  *validation* accuracy of seed 0 on ``digits-4`` (a best rate at the grid's edge gets one more rate beyond
  it) and reused on the other data sets; the other seeds then run at that rate; the table reports the
  *test* accuracy mean and sample standard deviation over the 3 seeds (never the best seed);
* **input-conditioning on vs off** at the same tensor format and budget (MetaLoRA-TR vs TR, MetaLoRA-CP vs
  CP) for every cell, read off the main grid;
* **ablations** (:func:`rank_sweep`, :func:`ablation_jobs`, :func:`long_training`): on ``resnet-mini`` x ``digits-4``, a rank
  sweep 1..16 of MetaLoRA-TR and LoRA (each rank with its own rate chosen on validation) and 5 more seeds
  of our LoRA and PEFT's LoRA; on ``digits-4`` with both backbones, for both MetaLoRA variants, the feature
  source (frozen backbone vs ``input-stats``), a random seed initialisation (seeds that differ between
  inputs from the start) and a smaller mapping network (hidden 16 instead of 64, the freed budget going to
  the rank), and for MetaLoRA-TR and LoRA the scale alpha (1x, 2x, 4x the rank); and every method of ours
  trained 10 epochs instead of 3 (at the main grid's rate, and at a rate re-tuned on validation for that length)
  on ``digits-4`` with both backbones and on ``digits-6`` with ``resnet-mini``.

Every finished run is appended to ``benchmarks/results/methods_runs.jsonl`` (one JSON object per line), so
an interrupted grid resumes where it stopped and the report can be rebuilt without training. The report
goes to ``docs/results.md`` (between ``<!-- bench_methods:start -->`` and ``<!-- bench_methods:end -->``),
the figures to ``docs/results_figures.html`` (one self-contained file), and with ``--write-readme`` the
main table into the README. Runs go ``--workers`` at a time, each on one CPU thread (``--device cpu``), so
training times are single-thread CPU seconds; with ``--device cuda`` they run one at a time on the GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

RUNS_FILE = ROOT / "benchmarks" / "results" / "methods_runs.jsonl"
RESULTS_MD = ROOT / "docs" / "results.md"
FIGURES_HTML = ROOT / "docs" / "results_figures.html"
COMMAND = "python benchmarks/bench_methods.py"

ADAPTERS = ("lora", "cp", "tr", "meta-cp", "meta-tr")
PEFT_METHODS = ("peft-lora", "peft-loha")
METHODS = ("head", "full", *ADAPTERS, *PEFT_METHODS)
LABELS = {
    "head": "head only",
    "full": "full fine-tuning",
    "lora": "LoRA",
    "cp": "CP (static)",
    "tr": "TR (static)",
    "meta-cp": "MetaLoRA-CP",
    "meta-tr": "MetaLoRA-TR",
    "peft-lora": "PEFT LoRA",
    "peft-loha": "PEFT LoHa",
}
BUDGET_RANKS = {"small": 4, "large": 16}  # a budget = LoRA's trainable count at this rank
LR_GRID = {"full": (1e-3, 3e-3, 1e-2)}
LR_GRID_DEFAULT = (5e-3, 2e-2, 8e-2)
SWEEP_RANKS = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Preset:
    backbones: tuple[str, ...]
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    budgets: tuple[str, ...]
    seeds: int
    epochs: int
    samples_per_class: int | None
    ablations: bool
    sweep_ranks: tuple[int, ...] = SWEEP_RANKS
    tune_each_dataset: bool = True
    alpha_factors: tuple[float, ...] = (1.0, 4.0)
    peer_extra_seeds: int = 5
    scaling_init_std: float = 0.05
    small_mapping: int = 16
    long_epochs: int = 10
    long_cells: tuple[tuple[str, str], ...] | None = None  # (backbone, data set); None: each backbone's first


PRESETS = {
    "full": Preset(
        ("resnet-mini", "mixer-mini"), ("digits-4", "digits-6", "shapes-4"), METHODS, ("small", "large"),
        seeds=3, epochs=3, samples_per_class=None, ablations=True, tune_each_dataset=False,
        long_cells=(("resnet-mini", "digits-4"), ("mixer-mini", "digits-4"), ("resnet-mini", "digits-6")),
    ),
    "quick": Preset(
        ("resnet-mini",), ("digits-4",), METHODS, ("small",), seeds=2, epochs=2, samples_per_class=60,
        ablations=False,
    ),
    # for the test suite: two methods of each kind, a tiny data set, one epoch
    "smoke": Preset(
        ("resnet-mini",), ("digits-4",), ("head", "lora", "meta-tr", "peft-lora"), ("small",), seeds=2,
        epochs=1, samples_per_class=6, ablations=True, sweep_ranks=(2,), alpha_factors=(4.0,), peer_extra_seeds=1,
        long_epochs=2,
    ),
}  # fmt: skip


def data_spec(name: str, samples_per_class: int | None):
    from metalora.data import DEFAULT_DEMO_DOMAINS, SHAPES_DEMO_DOMAINS, DataSpec

    domains = {
        "digits-4": ("digits", DEFAULT_DEMO_DOMAINS),
        "digits-6": ("digits", (*DEFAULT_DEMO_DOMAINS, "rotate180", "noise")),
        "shapes-4": ("shapes", SHAPES_DEMO_DOMAINS),
    }
    dataset, doms = domains[name]
    return DataSpec(dataset, doms, samples_per_class=samples_per_class)


def sample_name(backbone: str, dataset: str) -> str:
    return f"{backbone}-{dataset.split('-')[0]}"


# ----------------------------------------------------------------------------- one run
@dataclass(frozen=True)
class Job:
    backbone: str
    dataset: str
    method: str
    budget: str | None  # None: head / full, or an ablation that fixes the rank itself
    rank: int | None
    lr: float
    seed: int
    epochs: int
    samples_per_class: int | None
    feature_source: str = "backbone"
    study: str = (
        "main"  # main | rank-sweep | peer-check | feature-source | seed-init | mapping-size | alpha | epochs
    )
    alpha_factor: float | None = None  # alpha = factor x rank; None: the default 2
    mapping_hidden: int | None = None  # None: MetaLoRAConfig's default
    scaling_init_std: float | None = None  # None: MetaLoRAConfig's default (0: every seed starts at 1)

    @property
    def key(self) -> str:
        values = asdict(self)
        for name in ("alpha_factor", "mapping_hidden", "scaling_init_std"):  # fields added later: a default
            if values[name] is None:  # leaves the key as before, so earlier saved runs stay valid
                del values[name]
        return "|".join(str(v) for v in values.values())


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


def keep_norms_frozen(model):
    """Keep a PEFT model's frozen BatchNorm layers in eval mode in ``train()``, as our adapters do."""
    from torch.nn.modules.batchnorm import _BatchNorm

    original = model.train

    def train(mode: bool = True):
        original(mode)
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.eval()
        return model

    model.train = train
    return model


def adapted_names(base) -> list[str]:
    from torch import nn

    return [n for n, m in base.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def peft_model(base, method: str, rank: int, seed: int):
    """``base`` adapted by PEFT's LoRA or LoHa on every Conv2d and Linear, alpha = 2 x rank like ours."""
    import torch
    from peft import LoHaConfig, LoraConfig, get_peft_model

    names = adapted_names(base)
    if method == "peft-lora":
        config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=names)
    else:
        config = LoHaConfig(r=rank, alpha=2 * rank, target_modules=names)
    torch.manual_seed(seed)
    model = keep_norms_frozen(get_peft_model(base, config))
    return model, [p for p in model.parameters() if p.requires_grad]


def run_job(job: Job, device: str = "cpu", threads: int = 1) -> dict[str, Any]:
    """Train and measure one job; a plain dict (JSON-ready). Divergence gives ``status="failed"``."""
    import torch

    from metalora.errors import TrainingError
    from metalora.measure import count_flops, count_parameters
    from metalora.models import resolve_model
    from metalora.training.loop import TrainConfig, fit
    from metalora.training.run import train_run

    if device == "cpu":
        torch.set_num_threads(threads)
    spec = data_spec(job.dataset, job.samples_per_class)
    config = TrainConfig(epochs=job.epochs, lr=job.lr, batch_size=64, seed=job.seed, device=device)
    model = f"sample:{sample_name(job.backbone, job.dataset)}"
    row: dict[str, Any] = {**asdict(job), "key": job.key}
    rss0 = _reset_peak_rss()
    t0 = time.perf_counter()
    try:
        if job.method in PEFT_METHODS:
            splits = spec.load()
            base, _ = resolve_model(model, splits)
            flops_base = count_flops(base.eval(), torch.as_tensor(splits.train.x[:1]))
            net, params = peft_model(base, job.method, job.rank, job.seed)
            res = fit(net, splits, config, params=params)
            trainable, _total = count_parameters(net)
            val, test = asdict(res.val), asdict(res.test)
            flops = count_flops(net, torch.as_tensor(splits.train.x[:1]).to(res.device))
            train_time, peak, dev = res.train_time_s, res.peak_memory_bytes, res.device
        else:
            kwargs: dict[str, Any] = {}
            if "meta" in job.method:
                extra = {"mapping_hidden": job.mapping_hidden, "scaling_init_std": job.scaling_init_std}
                extra = {k: v for k, v in extra.items() if v is not None}
                kwargs["adapter_kwargs"] = {"feature_source": job.feature_source, **extra}
            if job.alpha_factor is not None:
                kwargs["alpha"] = job.alpha_factor * job.rank
            res = train_run(model, spec, job.method, config, rank=job.rank, **kwargs)
            val, test = res.metrics["val"], res.metrics["test"]
            trainable, flops, flops_base = res.trainable_params, res.flops, res.metrics["flops_base"]
            train_time, peak, dev = res.train_time_s, res.peak_memory_bytes, res.device
    except TrainingError as err:  # diverged: a result of the method, kept
        return {**row, "status": "failed", "error": str(err)}
    except Exception as err:  # a broken set-up: reported, not saved, so a rerun tries again
        return {**row, "status": "error", "error": f"{type(err).__name__}: {err}"}
    if not str(dev).startswith("cuda"):  # this run's own peak above the memory the process held before
        peak = max(0, _status_bytes("VmHWM") - rss0)
    row.update(
        status="completed",
        val_accuracy=float(val["accuracy"]),
        accuracy=float(test["accuracy"]),
        per_domain={k: float(v) for k, v in (test.get("per_domain") or {}).items()},
        trainable=int(trainable),
        flops=int(flops),
        flops_base=int(flops_base),
        train_time_s=float(train_time),
        wall_s=time.perf_counter() - t0,
        peak_memory_bytes=int(peak),
        device=str(dev),
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
    import torch

    from metalora.models import resolve_model
    from metalora.training.methods import prepare

    spec = data_spec(dataset, 6)
    base, _ = resolve_model(f"sample:{sample_name(backbone, dataset)}", spec.load())
    with torch.random.fork_rng(devices=[]):
        if method in PEFT_METHODS:
            params = peft_model(base, method, rank, 0)[1]
        else:
            params = prepare(base, method, rank=rank, **adapter_kwargs)[1]
    return sum(p.numel() for p in params)


def match_rank(backbone: str, dataset: str, method: str, budget: int, **kw) -> int:
    """The rank whose trainable count is closest to ``budget`` (PEFT's methods included)."""
    from metalora.training.methods import closest_rank

    return closest_rank(lambda r: trainable_count(backbone, dataset, method, r, **kw), budget)


def rank_table(preset: Preset, methods: Sequence[str], skip=()) -> dict[tuple[str, str, str, str], int]:
    """(backbone, dataset, budget, method) -> the adapter method's rank matched to that budget."""
    out = {}
    for backbone in preset.backbones:
        for dataset in preset.datasets:
            if (backbone, dataset) in skip:
                continue
            for budget in preset.budgets:
                target = trainable_count(backbone, dataset, "lora", BUDGET_RANKS[budget])
                for m in methods:
                    if m not in ("head", "full"):
                        out[(backbone, dataset, budget, m)] = match_rank(backbone, dataset, m, target)
    return out


# ----------------------------------------------------------------------------- the grid
def load_runs(path: Path = RUNS_FILE) -> dict[str, dict]:
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
            f"lr {row['lr']:g} s{row['seed']} {row['study']}: {acc} ({time.perf_counter() - t0:.0f}s)",
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


def lr_grid(method: str) -> tuple[float, ...]:
    return LR_GRID.get(method, LR_GRID_DEFAULT)


def best_lr(runs: dict[str, dict], tuning: Iterable[Job]) -> float:
    """The learning rate whose seed-0 run has the best validation accuracy (ties: the smaller rate)."""
    scored = []
    for j in tuning:
        r = runs.get(j.key, {})
        val = r.get("val_accuracy", -1.0) if r.get("status") == "completed" else -1.0
        scored.append((-val, j.lr))
    return min(scored)[1]


def tune_rates(tuning: dict, make_job, runs: dict, path: Path, workers: int, device: str) -> dict:
    """Run seed 0 at each key's rates; a best rate at the edge of those gets one more rate beyond that edge
    (x4 or /4), once. Returns {key: the rate with the best validation accuracy}. ``make_job(*key, lr, seed)``."""
    run_all([j for js in tuning.values() for j in js], runs, path, workers, device)
    for key, js in tuning.items():
        lrs, best = sorted(j.lr for j in js), best_lr(runs, js)
        if best in (lrs[0], lrs[-1]) and len(lrs) > 1:
            js.append(make_job(*key, best * 4 if best == lrs[-1] else best / 4, 0))
    run_all([j for js in tuning.values() for j in js], runs, path, workers, device)
    return {key: best_lr(runs, js) for key, js in tuning.items()}


def grid(preset: Preset, runs: dict, path: Path, workers: int, device: str, methods: Sequence[str]) -> None:
    from metalora.models import list_sample_models

    have = set(list_sample_models())
    missing = [(b, d) for b in preset.backbones for d in preset.datasets if sample_name(b, d) not in have]
    for b, d in missing:
        print(f"  skipping {b} x {d}: no sample model {sample_name(b, d)!r} (make sample-models builds it)")
    datasets = tuple(d for d in preset.datasets if any((b, d) not in missing for b in preset.backbones))
    preset = replace(preset, datasets=datasets)
    ranks = rank_table(preset, methods, skip=missing)
    base = dict(epochs=preset.epochs, samples_per_class=preset.samples_per_class)
    cells = [
        (bb, ds, m, bud)
        for bb in preset.backbones
        for ds in preset.datasets
        if (bb, ds) not in missing
        for m in methods
        for bud in ((None,) if m in ("head", "full") else preset.budgets)
    ]

    def job(bb, ds, m, bud, lr, seed, **kw) -> Job:
        rank = ranks.get((bb, ds, bud, m)) if bud else kw.pop("rank", None)
        return Job(bb, ds, m, bud, rank, lr, seed, **base, **kw)

    # With tune_each_dataset=False, rates are tuned on the first data set's validation split only and reused
    # for the other data sets of the same backbone, method and budget (fewer runs; still never on test).
    tuned = [c for c in cells if preset.tune_each_dataset or c[1] == preset.datasets[0]]
    print("Phase 1: learning rates (seed 0, chosen on the validation split)", flush=True)
    tuning = {c: [job(*c, lr, 0) for lr in lr_grid(c[2])] for c in tuned}
    chosen = tune_rates(tuning, job, runs, path, workers, device)
    chosen.update({c: chosen[(c[0], preset.datasets[0], *c[2:])] for c in cells if c not in chosen})
    print("Phase 2: the other seeds at the chosen rates", flush=True)
    more = [job(*c, chosen[c], s) for c in cells for s in range(0 if c not in tuning else 1, preset.seeds)]
    if preset.ablations:
        more += ablation_jobs(preset, chosen, job)
        more += rank_sweep(preset, runs, path, workers, device, job)
        run_all(more, runs, path, workers, device)
        more = long_training(preset, chosen, runs, path, workers, device, job)
    run_all(more, runs, path, workers, device)


def rank_sweep(preset: Preset, runs: dict, path: Path, workers: int, device: str, job) -> list[Job]:
    """LoRA and MetaLoRA-TR at every rank of the sweep on the first cell, each rank with its own rate
    (seed 0's validation accuracy over the grid, as in the main grid); returns the other seeds' jobs."""
    bb, ds = preset.backbones[0], preset.datasets[0]
    tuning = {
        (m, r): [job(bb, ds, m, None, lr, 0, rank=r, study="rank-sweep") for lr in lr_grid(m)]
        for m in ("lora", "meta-tr")
        for r in preset.sweep_ranks
    }
    print("Rank sweep: rates per rank (seed 0, validation)", flush=True)
    run_all([j for js in tuning.values() for j in js], runs, path, workers, device)
    return [
        replace(js[0], lr=best_lr(runs, js), seed=s) for js in tuning.values() for s in range(1, preset.seeds)
    ]


def long_training(
    preset: Preset, chosen: dict, runs: dict, path: Path, workers: int, device: str, job
) -> list[Job]:
    """Every method of ours trained ``long_epochs`` on ``long_cells`` (small budget), its rate re-tuned for that
    length as in the main grid (seed 0's validation accuracy over the grid and the main grid's own rate, one more
    rate past an edge); returns the other seeds' jobs. At the main grid's rate these are ``epochs`` runs."""
    small = preset.budgets[0]
    cells = preset.long_cells or tuple((bb, preset.datasets[0]) for bb in preset.backbones)

    def long_job(bb, ds, m, bud, lr, seed):
        study = "epochs" if lr == chosen.get((bb, ds, m, bud)) else "epochs-tuned"
        return replace(job(bb, ds, m, bud, lr, seed), epochs=preset.long_epochs, study=study)

    tuning = {  # the grid, and the main grid's own rate when an edge extension put it outside the grid
        (bb, ds, m, bud): [
            long_job(bb, ds, m, bud, lr, 0) for lr in dict.fromkeys((*lr_grid(m), chosen[(bb, ds, m, bud)]))
        ]
        for bb, ds in cells
        for m in preset.methods
        if not m.startswith("peft-")
        for bud in [None if m in ("head", "full") else small]
        if (bb, ds, m, bud) in chosen
    }
    print(f"Training length: rates re-tuned at {preset.long_epochs} epochs (seed 0, validation)", flush=True)
    best = tune_rates(tuning, long_job, runs, path, workers, device)
    return [long_job(*key, best[key], s) for key in tuning for s in range(1, preset.seeds)]


def ablation_jobs(preset: Preset, chosen: dict, job) -> list[Job]:
    """The ablations, at the rates chosen for the main grid (small budget unless said otherwise).

    On the first cell: 5 more seeds of our LoRA and PEFT's LoRA at both budgets (the rank sweep, which
    tunes its own rates, is :func:`rank_sweep`). On the first data set of every backbone: the feature
    source, a random seed initialisation and a smaller mapping network (its rank re-matched to the budget)
    for both MetaLoRA variants, alpha = 1x / 4x the rank (default 2x) for LoRA and MetaLoRA-TR, and every
    method of ours trained ``long_epochs`` instead of ``epochs`` (same rate: does a longer run change the order?).
    """
    out: list[Job] = []
    ds, small = preset.datasets[0], preset.budgets[0]
    first = preset.backbones[0]
    for m in ("lora", "peft-lora"):
        for bud in preset.budgets:
            lr = chosen.get((first, ds, m, bud))
            extra = range(preset.seeds, preset.seeds + preset.peer_extra_seeds) if lr is not None else ()
            out += [replace(job(first, ds, m, bud, lr, s), study="peer-check") for s in extra]
    for bb in preset.backbones:
        for m in ("meta-cp", "meta-tr"):
            lr = chosen.get((bb, ds, m, small))
            out += [
                replace(job(bb, ds, m, small, lr, s), feature_source="input-stats", study="feature-source")
                for s in (range(preset.seeds) if lr is not None else ())
            ]
        for m in ("lora", "meta-tr"):
            lr = chosen.get((bb, ds, m, small))
            out += [
                replace(job(bb, ds, m, small, lr, s), alpha_factor=f, study="alpha")
                for f in (preset.alpha_factors if lr is not None else ())
                for s in range(preset.seeds)
            ]
        for m in ("meta-cp", "meta-tr"):
            lr = chosen.get((bb, ds, m, small))
            if lr is None:
                continue
            out += [  # seeds that differ between inputs from the first step
                replace(
                    job(bb, ds, m, small, lr, s), scaling_init_std=preset.scaling_init_std, study="seed-init"
                )
                for s in range(preset.seeds)
            ]
            # a smaller mapping network leaves more of the budget to the adapters' rank
            target = trainable_count(bb, ds, "lora", BUDGET_RANKS[small])
            rank = match_rank(bb, ds, m, target, mapping_hidden=preset.small_mapping)
            out += [
                replace(job(bb, ds, m, small, lr, s), rank=rank, mapping_hidden=preset.small_mapping,
                        study="mapping-size")
                for s in range(preset.seeds)
            ]  # fmt: skip
        for m in (m for m in preset.methods if not m.startswith("peft-")):
            bud = None if m in ("head", "full") else small
            lr = chosen.get((bb, ds, m, bud))
            out += [
                replace(job(bb, ds, m, bud, lr, s), epochs=preset.long_epochs, study="epochs")
                for s in (range(preset.seeds) if lr is not None else ())
            ]
    return out


# ----------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--preset", choices=sorted(PRESETS), default="full", help="how much to run (default: full)"
    )
    p.add_argument("--workers", type=int, default=2, help="parallel runs on CPU, one thread each (default 2)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument(
        "--runs", type=Path, default=None, help=f"the runs file (default {RUNS_FILE.relative_to(ROOT)})"
    )
    p.add_argument("--out", type=Path, default=RESULTS_MD, help="the markdown report to write into")
    p.add_argument("--figures", type=Path, default=FIGURES_HTML, help="the HTML file of the figures")
    p.add_argument(
        "--report-only", action="store_true", help="do not train: rebuild the report from the runs"
    )
    p.add_argument("--write-readme", action="store_true", help="also put the main table into the README")
    p.add_argument("--readme", type=Path, default=ROOT / "README.md", help="the README (default README.md)")
    args = p.parse_args(argv)
    from report_methods import write_report

    preset = PRESETS[args.preset]
    device = args.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    path = args.runs or (
        RUNS_FILE if args.preset == "full" else RUNS_FILE.with_name(f"methods_{args.preset}.jsonl")
    )
    runs = load_runs(path)
    methods = list(preset.methods)
    try:
        import peft  # noqa: F401
    except ImportError:
        methods = [m for m in methods if m not in PEFT_METHODS]
        print("PEFT is not installed: the PEFT LoRA / LoHa rows are skipped "
              "(pip install -r requirements-bench.txt to include them).", flush=True)  # fmt: skip
    print(f"bench_methods: preset {args.preset}, device {device}, {args.workers} worker(s), runs in {path}")
    if not args.report_only:
        grid(preset, runs, path, args.workers, device, methods)
    write_report(
        list(runs.values()), preset_name=args.preset, out=args.out, figures=args.figures,
        readme=args.readme if args.write_readme else None, command=COMMAND,
        methods=methods, labels=LABELS, lr_grids={m: lr_grid(m) for m in methods},
    )  # fmt: skip
    print(f"wrote {args.out} and {args.figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
