"""The dashboard's demo, run as the dashboard runs it, over several repeats: accuracy, agreement, wall time.

    python benchmarks/bench_demo.py [--seeds 0 1 2] [--baseline REV] [--write-results docs/results.md]

Each repeat trains the demo's methods one after the other, as the Home page's button does
(:mod:`metalora.training.demo`: the small ResNet sample model on 4-domain digits, LoRA against MetaLoRA
(CP) at the same budget of trainable parameters, :func:`~metalora.training.demo.demo_ranks`, with the
demo's adapter settings),
through :func:`~metalora.training.run.train_run` with a run registry, so every run is saved as the
dashboard saves it. Per repeat it reports the test accuracy of each method and of the frozen model on each
kind of input, the agreement of the MetaLoRA run's per-input clusters with the kinds of input (ARI and NMI
of the Adaptation-clusters page, :meth:`~metalora.analysis.RunAnalysis.clusters`) and the wall time of
the whole demo (both trainings, data in memory, as in the dashboard). The table gives the mean and the
spread (standard deviation) over the repeats.

Every repeat runs in its own process. ``--baseline REV`` also runs the same repeats with the library as
it was at git revision ``REV`` (a temporary worktree), alternating old and new per repeat so a busy machine
slows both alike: the demo's speed-up between the two versions, at the same ranks and settings.

The figures are printed, and ``--write-results`` writes them into the ``bench_demo`` block of a Markdown
file. Numbers are measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(args: argparse.Namespace) -> None:
    """One repeat of the demo with the library found first on ``sys.path``; prints one JSON line."""
    import math
    from dataclasses import replace

    import torch

    from metalora.models import resolve_model
    from metalora.training import evaluate
    from metalora.training.demo import DEMO_DATA, DEMO_MODEL, DEMO_TRAIN_CONFIG
    from metalora.training.run import train_run
    from metalora.training.run_registry import RunRegistry

    # the methods, ranks and settings come from this version's demo (an old library in --baseline has others)
    ranks, adapter = json.loads(args.ranks), json.loads(args.adapter)
    splits = DEMO_DATA.load()  # in memory before the clock starts, as the dashboard has it
    base, _ = resolve_model(DEMO_MODEL, splits)
    frozen = evaluate(base, splits.test)
    out: dict = {
        "library": args.library,
        "threads": torch.get_num_threads(),
        "frozen": {"accuracy": frozen.accuracy, "per_domain": dict(frozen.per_domain)},
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as home:
        registry = RunRegistry(home)
        start = time.perf_counter()
        results = {}
        for method in ranks:
            cfg = replace(DEMO_TRAIN_CONFIG, seed=args.seed)
            t = time.perf_counter()
            res = train_run(
                DEMO_MODEL, splits, method, cfg, rank=ranks[method], adapter_kwargs=adapter, registry=registry
            )
            results[method] = res
            out["runs"][method] = {
                "rank": ranks[method],
                "trainable": res.trainable_params,
                "accuracy": res.accuracy,
                "per_domain": dict(res.per_domain),
                "wall_s": time.perf_counter() - t,
            }
        out["wall_s"] = time.perf_counter() - start
    try:  # the Adaptation-clusters page's scores for the MetaLoRA run
        from metalora.analysis import RunAnalysis
        from metalora.analysis.clusters import cluster_scaling

        meta = next(m for m in ranks if m.startswith("meta"))
        view = RunAnalysis(results[meta].model, splits.test)
        clusters = view.clusters()
        out["ari"] = clusters.ari.get("domain", math.nan)
        out["nmi"] = clusters.nmi.get("domain", math.nan)
        out["clusters"] = int(clusters.k)
        groups = view.kind_groups()  # which kinds get a group of their own, which share one (the page says)
        out["kind_groups"] = {"own": groups.own, "shared": groups.shared, "spread": groups.spread}
        kmeans = cluster_scaling(view.scaling_table(), method="kmeans")  # the other clustering, to compare
        out["kmeans_ari"], out["kmeans_nmi"] = (
            kmeans.ari.get("domain", math.nan),
            kmeans.nmi.get("domain", math.nan),
        )
    except Exception as err:  # an old library in --baseline may lack the view; its time still counts
        out["clusters_error"] = repr(err)
    print("RESULT " + json.dumps(out), flush=True)


def run_repeat(library: Path, seed: int, ranks: dict, adapter: dict) -> dict:
    """One repeat in a fresh process importing ``library`` (a checkout of this repository)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--library", str(library)]
    cmd += ["--seed", str(seed), "--ranks", json.dumps(ranks), "--adapter", json.dumps(adapter)]
    env = {**os.environ, "PYTHONPATH": str(library)}
    env["METALORA_SAMPLE_MODELS"] = str(ROOT / "sample_models")  # the same weights for every version
    proc = subprocess.run(cmd, cwd=library, env=env, capture_output=True, text=True, check=False)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.exit(f"the demo failed with the library at {library}:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def mean_sd(values: list[float], digits: int = 1) -> str:
    """``"71.5 ± 2.1"``: the mean and the sample standard deviation (none for a single value)."""
    m = statistics.fmean(values)
    return f"{m:.{digits}f} ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else f"{m:.{digits}f}"


def kinds_lines(new: list[dict]) -> list[str]:
    """How often each kind of input got a group of its own, and which kinds shared one, over the repeats
    (what the clusters page says in words, :func:`metalora.analysis.kind_groups`)."""
    from metalora.i18n import domain_name

    found = [r["kind_groups"] for r in new if "kind_groups" in r]
    if not found:
        return []
    n = len(found)

    def counted(items: list[str]) -> str:
        counts = {x: items.count(x) for x in dict.fromkeys(items)}
        return ", ".join(f"{x} ({c} of {n})" for x, c in counts.items()) or "none"

    own = [domain_name(d, "en") for g in found for d in g["own"]]
    shared = [" + ".join(domain_name(d, "en") for d in s) for g in found for s in g["shared"]]
    spread = [domain_name(d, "en") for g in found for d in g["spread"]]
    return [
        f"- Kinds of input with a group of their own on the clusters page: {counted(own)}; kinds sharing a "
        f"group: {counted(shared)}; spread over several groups: {counted(spread)} (repeats out of {n})."
    ]


def table(new: list[dict], old: list[dict], baseline: str | None, adapter: dict) -> str:
    from metalora.methods import method_label
    from metalora.training.demo import DEMO_MODEL

    n = len(new)
    settings = ", ".join(f"{k}={v!r}" for k, v in adapter.items())
    methods = list(new[0]["runs"])  # LoRA first, then the MetaLoRA method
    meta = methods[-1]
    domains = list(new[0]["frozen"]["per_domain"])
    runs = new[0]["runs"]
    lines = [
        f"The dashboard's demo ({DEMO_MODEL} on 4-domain digits, adapter settings {settings}, both trainings "
        f"as the Home page's button runs them, saved to a run registry), {n} repeats (seeds {', '.join(str(r['seed']) for r in new)}), "
        f"each in its own process; {new[0]['threads']} threads; mean ± standard deviation over the repeats. "
        "Test accuracy %, on each kind of input:",
        "",
        "| model | rank | trainable parameters | all | " + " | ".join(domains) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(domains),
    ]
    fr = [r["frozen"] for r in new]
    cells = [mean_sd([100 * f["per_domain"][d] for f in fr]) for d in domains]
    lines.append(
        f"| frozen model | – | 0 | {mean_sd([100 * f['accuracy'] for f in fr])} | " + " | ".join(cells) + " |"
    )
    for m in methods:
        rs = [r["runs"][m] for r in new]
        cells = [mean_sd([100 * x["per_domain"][d] for x in rs]) for d in domains]
        lines.append(
            f"| {method_label(m, 'en')} | {runs[m]['rank']} | {runs[m]['trainable']:,} | "
            f"{mean_sd([100 * x['accuracy'] for x in rs])} | " + " | ".join(cells) + " |"
        )
    gap = [100 * (r["runs"][meta]["accuracy"] - r["runs"][methods[0]]["accuracy"]) for r in new]
    ari = [r["ari"] for r in new if "ari" in r]
    nmi = [r["nmi"] for r in new if "nmi" in r]
    lines += [
        "",
        f"- MetaLoRA minus LoRA: {mean_sd(gap)} accuracy points (per repeat: "
        + ", ".join(f"{g:+.1f}" for g in gap)
        + ").",
        f"- Adaptation clusters of the MetaLoRA run against the kinds of input: ARI {mean_sd(ari, 2)}, "
        f"NMI {mean_sd(nmi, 2)} "
        f"(per repeat ARI {', '.join(f'{a:.2f}' for a in ari)}; groups found "
        f"{', '.join(str(r.get('clusters', '–')) for r in new)}), clustered as the page does (Ward); k-means "
        f"on the same scaling factors: ARI {mean_sd([r['kmeans_ari'] for r in new], 2)}, "
        f"NMI {mean_sd([r['kmeans_nmi'] for r in new], 2)}.",
        *kinds_lines(new),
        f"- Wall time of the whole demo: {mean_sd([r['wall_s'] for r in new])} s (per repeat "
        + ", ".join(f"{r['wall_s']:.1f}" for r in new)
        + " s).",
    ]
    if old:
        ratio = [o["wall_s"] / r["wall_s"] for r, o in zip(new, old, strict=True)]
        lines.append(
            f"- The same demo with the library of revision `{baseline}` (same ranks, settings and seeds, "
            f"alternated with the above): {mean_sd([o['wall_s'] for o in old])} s; this version is "
            f"{statistics.fmean(ratio):.2f}× as fast (per repeat "
            + ", ".join(f"{x:.2f}×" for x in ratio)
            + ")."
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one repeat per seed")
    ap.add_argument("--baseline", help="also time the demo with the library at this git revision")
    ap.add_argument(
        "--method", help="another MetaLoRA method against LoRA (a variant: written to its own block)"
    )
    ap.add_argument(
        "--feature-source", help="another feature source of the mapping network (a variant, idem)"
    )
    ap.add_argument("--write-results", metavar="FILE", help="write the table into FILE's bench_demo block")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--library", default=str(ROOT), help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--ranks", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--adapter", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        sys.path.insert(0, args.library)
        worker(args)
        return
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    from metalora.models import list_sample_models, resolve_model
    from metalora.training.demo import (
        DEMO_ADAPTER_KWARGS,
        DEMO_DATA,
        DEMO_METHOD,
        DEMO_METHODS,
        DEMO_MODEL,
        demo_ranks,
    )

    if DEMO_MODEL.removeprefix("sample:") not in list_sample_models():
        sys.exit(f"The sample model {DEMO_MODEL} is not installed: run `make sample-models` first.")
    base, _ = resolve_model(DEMO_MODEL, DEMO_DATA.load())
    method = args.method or DEMO_METHOD
    adapter = dict(DEMO_ADAPTER_KWARGS)
    if args.feature_source:
        adapter["feature_source"] = args.feature_source
    variant = method != DEMO_METHOD or adapter != dict(DEMO_ADAPTER_KWARGS)
    ranks = dict(demo_ranks(base, (DEMO_METHODS[0], method), adapter))  # at one budget, LoRA's
    print(f"demo ranks at one budget: {ranks}; adapter settings {adapter}", flush=True)
    old_tree = None
    if args.baseline:
        old_tree = Path(tempfile.mkdtemp(prefix="metalora-baseline-"))
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(old_tree), args.baseline], cwd=ROOT, check=True
        )
    new, old = [], []
    try:
        for seed in args.seeds:
            order = [(ROOT, new)] + ([(old_tree, old)] if old_tree else [])
            for library, results in order if seed % 2 == 0 else order[::-1]:
                r = run_repeat(library, seed, ranks, adapter)
                r["seed"] = seed
                results.append(r)
                runs = ", ".join(f"{m} {100 * x['accuracy']:.1f}%" for m, x in r["runs"].items())
                print(
                    f"seed {seed} [{library}]: {r['wall_s']:.1f} s; {runs}; ARI {r.get('ari', '–')}",
                    flush=True,
                )
    finally:
        if old_tree is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT, check=False)
    text = table(new, old, args.baseline, adapter)
    print(text)
    if args.write_results:
        from bench_common import write_block

        block = f"bench_demo_{method}_{adapter.get('feature_source')}" if variant else "bench_demo"
        write_block(Path(args.write_results), block, text)


if __name__ == "__main__":
    main()
