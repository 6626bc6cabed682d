"""The method comparison's protocol: the main grid with its learning rates tuned on validation, then the
ablations (:func:`rank_sweep`, :func:`ablation_jobs`, :func:`long_training`).

A rate is always chosen by seed 0's *validation* accuracy, never on the test split; the other seeds then
run at that rate. The studies' jobs are built from the main grid's ``job`` factory, so each carries the
main grid's rank for its (cell, method, budget).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from methods_grid import (
    BUDGET_RANKS,
    PEER_METHODS,
    SWEEP_METHODS,
    Job,
    Preset,
    budget_of,
    is_ours,
    lr_grid,
    sample_name,
)
from methods_runs import match_rank, rank_table, run_all, trainable_count

from metalora.methods import get_method

__all__ = ["ablation_jobs", "best_lr", "grid", "long_training", "rank_sweep", "tune_rates"]


def best_lr(runs: dict[str, dict], tuning: Iterable[Job]) -> float:
    """The learning rate whose seed-0 run has the best validation accuracy (ties: the smaller rate)."""
    scored = []
    for j in tuning:
        r = runs.get(j.key, {})
        val = r.get("val_accuracy", -1.0) if r.get("status") == "completed" else -1.0
        scored.append((-val, j.lr))
    return min(scored)[1]


def tune_rates(tuning: dict, make_job, runs: dict, path, workers: int, device: str) -> dict:
    """Run seed 0 at each key's rates; a best rate at the edge of those gets one more rate beyond that edge
    (x4 or /4), once. Returns {key: the rate with the best validation accuracy}. ``make_job(*key, lr, seed)``."""
    run_all([j for js in tuning.values() for j in js], runs, path, workers, device)
    for key, js in tuning.items():
        lrs, best = sorted(j.lr for j in js), best_lr(runs, js)
        if best in (lrs[0], lrs[-1]) and len(lrs) > 1:
            js.append(make_job(*key, best * 4 if best == lrs[-1] else best / 4, 0))
    run_all([j for js in tuning.values() for j in js], runs, path, workers, device)
    return {key: best_lr(runs, js) for key, js in tuning.items()}


def grid(preset: Preset, runs: dict, path, workers: int, device: str, methods: Sequence[str]) -> None:
    """The main grid (rates tuned on validation, then the other seeds) and, if the preset says so, the ablations."""
    from metalora.models import list_sample_models

    have = set(list_sample_models())
    missing = [(b, d) for b in preset.backbones for d in preset.datasets if sample_name(b, d) not in have]
    for b, d in missing:
        print(f"  skipping {b} x {d}: no sample model {sample_name(b, d)!r} (make sample-models builds it)")
    datasets = tuple(d for d in preset.datasets if any((b, d) not in missing for b in preset.backbones))
    preset = replace(preset, datasets=datasets, methods=tuple(methods))
    ranks = rank_table(preset, methods, skip=missing)
    base = dict(epochs=preset.epochs, samples_per_class=preset.samples_per_class)
    cells = [
        (bb, ds, m, bud)
        for bb in preset.backbones
        for ds in preset.datasets
        if (bb, ds) not in missing
        for m in methods
        for bud in (preset.budgets if get_method(m).ranked else (None,))
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


def rank_sweep(preset: Preset, runs: dict, path, workers: int, device: str, job) -> list[Job]:
    """LoRA and MetaLoRA-TR at every rank of the sweep on the first cell, each rank with its own rate
    (seed 0's validation accuracy over the grid, as in the main grid); returns the other seeds' jobs."""
    bb, ds = preset.backbones[0], preset.datasets[0]
    tuning = {
        (m, r): [job(bb, ds, m, None, lr, 0, rank=r, study="rank-sweep") for lr in lr_grid(m)]
        for m in SWEEP_METHODS
        for r in preset.sweep_ranks
    }
    print("Rank sweep: rates per rank (seed 0, validation)", flush=True)
    run_all([j for js in tuning.values() for j in js], runs, path, workers, device)
    return [
        replace(js[0], lr=best_lr(runs, js), seed=s) for js in tuning.values() for s in range(1, preset.seeds)
    ]


def long_training(
    preset: Preset, chosen: dict, runs: dict, path, workers: int, device: str, job
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
        if is_ours(m)
        for bud in [budget_of(m, small)]
        if (bb, ds, m, bud) in chosen
    }
    print(f"Training length: rates re-tuned at {preset.long_epochs} epochs (seed 0, validation)", flush=True)
    best = tune_rates(tuning, long_job, runs, path, workers, device)
    return [long_job(*key, best[key], s) for key in tuning for s in range(1, preset.seeds)]


def ablation_jobs(preset: Preset, chosen: dict, job) -> list[Job]:
    """The ablations, at the rates chosen for the main grid (small budget unless said otherwise).

    On the first cell: 5 more seeds of our LoRA and PEFT's LoRA at both budgets (the rank sweep, which
    tunes its own rates, is :func:`rank_sweep`). On the first data set of every backbone, for both MetaLoRA
    variants: the feature source, scaling factors that differ between inputs from the start (the mapping
    network's output layer drawn with ``scaling_init_std``) and a smaller mapping network (its rank
    re-matched to the budget); alpha = 1x / 4x the rank (default 2x) for LoRA and MetaLoRA-TR; and every
    method of ours trained ``long_epochs`` instead of ``epochs`` (same rate: does a longer run change the order?).
    """
    out: list[Job] = []
    ds, small = preset.datasets[0], preset.budgets[0]
    first = preset.backbones[0]
    meta = [m for m in preset.methods if get_method(m).input_conditioned]

    def at_chosen(bb, m, bud, seeds, **changes) -> list[Job]:
        lr = chosen.get((bb, ds, m, bud))
        return [] if lr is None else [replace(job(bb, ds, m, bud, lr, s), **changes) for s in seeds]

    all_seeds = range(preset.seeds)
    for m in PEER_METHODS:
        for bud in preset.budgets:
            extra = range(preset.seeds, preset.seeds + preset.peer_extra_seeds)
            out += at_chosen(first, m, bud, extra, study="peer-check")
    for bb in preset.backbones:
        for m in meta:
            out += at_chosen(bb, m, small, all_seeds, feature_source="input-stats", study="feature-source")
        for m in SWEEP_METHODS:
            for f in preset.alpha_factors:
                out += at_chosen(bb, m, small, all_seeds, alpha_factor=f, study="alpha")
        for m in meta:
            if (bb, ds, m, small) not in chosen:
                continue
            out += at_chosen(
                bb, m, small, all_seeds, scaling_init_std=preset.scaling_init_std, study="seed-init"
            )
            # a smaller mapping network leaves more of the budget to the adapters' rank
            target = trainable_count(bb, ds, "lora", BUDGET_RANKS[small])
            rank = match_rank(bb, ds, m, target, mapping_hidden=preset.small_mapping)
            out += at_chosen(
                bb, m, small, all_seeds, rank=rank, mapping_hidden=preset.small_mapping, study="mapping-size"
            )
        for m in filter(is_ours, preset.methods):
            out += at_chosen(bb, m, budget_of(m, small), all_seeds, epochs=preset.long_epochs, study="epochs")
    return out
