"""Could another clustering group the demo's inputs by kind better? Variants on the same scaling factors.

    python benchmarks/bench_demo_clusters.py [--seeds 0 1 2] [--write-results docs/results.md]

Trains the dashboard demo's MetaLoRA run once per seed (its settings: ``metalora/training/demo.py``), takes
the scaling factors the Adaptation-clusters page clusters (``RunAnalysis.scaling_table``), and clusters them
again in several ways: the page's (Ward on standardised factors, k by silhouette), k-means, no
standardising, cosine distance, principal components first (plain or whitened), log magnitudes, one layer at
a time, and the true number of kinds given (k = 4). Each is scored against the kinds of input (ARI, NMI,
mean ± standard deviation over the seeds); ``--write-results`` writes the table into the file's
``bench_demo_clusters`` block.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_common import write_block  # noqa: E402


def standardised(x: np.ndarray) -> np.ndarray:
    sd = x.std(0)
    keep = sd > 1e-9 * max(1.0, float(np.abs(x).max()))
    return (x[:, keep] - x[:, keep].mean(0)) / sd[keep]


def variants(table) -> dict[str, tuple[np.ndarray, dict]]:
    """``{name: (features, clustering options)}``: the page's and the alternatives."""
    from sklearn.decomposition import PCA

    x = table.matrix(None)
    z = standardised(x)
    out = {
        "the page's: Ward, standardised": (z, {}),
        "k-means, standardised": (z, {"method": "kmeans"}),
        "Ward, not standardised": (x - x.mean(0), {}),
        "Ward, cosine (standardised, unit length)": (z / np.linalg.norm(z, axis=1, keepdims=True), {}),
        "Ward, log magnitudes": (standardised(np.log(np.abs(x) + 1e-3)), {}),
        "Ward, standardised, k = 4 given": (z, {"k": 4}),
    }
    for d in (2, 3, 5, 8):
        out[f"Ward, {d} principal components"] = (PCA(d, random_state=0).fit_transform(z), {})
    for d in (3, 5):
        out[f"Ward, {d} whitened components"] = (PCA(d, whiten=True, random_state=0).fit_transform(z), {})
    return out


def score(table, x: np.ndarray, options: dict, seed: int) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from metalora.analysis.clusters import cluster_features

    labels, *_ = cluster_features(
        x, method=options.get("method", "agglomerative"), k=options.get("k"), random_state=seed
    )
    return adjusted_rand_score(table.domain, labels), normalized_mutual_info_score(table.domain, labels)


def run(seeds: list[int]) -> tuple[dict[str, list[tuple[float, float]]], dict[str, list[float]]]:
    import torch

    from metalora.analysis import RunAnalysis
    from metalora.models import resolve_model
    from metalora.training.demo import (
        DEMO_ADAPTER_KWARGS,
        DEMO_DATA,
        DEMO_METHODS,
        DEMO_MODEL,
        DEMO_TRAIN_CONFIG,
        demo_ranks,
    )
    from metalora.training.run import train_run

    torch.set_num_threads(min(2, torch.get_num_threads()))
    splits = DEMO_DATA.load()
    base, _ = resolve_model(DEMO_MODEL, splits)
    meta = DEMO_METHODS[-1]
    rank = demo_ranks(base)[meta]
    scores: dict[str, list[tuple[float, float]]] = {}
    layers: dict[str, list[float]] = {}
    for seed in seeds:
        cfg = replace(DEMO_TRAIN_CONFIG, seed=seed)
        res = train_run(DEMO_MODEL, splits, meta, cfg, rank=rank, adapter_kwargs=dict(DEMO_ADAPTER_KWARGS))
        table = RunAnalysis(res.model, splits.test).scaling_table()
        for name, (x, options) in variants(table).items():
            scores.setdefault(name, []).append(score(table, x, options, seed))
        for layer in table.layers:
            ari, _ = score(table, standardised(table.matrix(layer)), {"k": 4}, seed)
            layers.setdefault(layer, []).append(ari)
        print(f"seed {seed}: the page's ARI {scores[next(iter(scores))][-1][0]:.2f}", flush=True)
    return scores, layers


def mean_sd(values: list[float]) -> str:
    return (
        f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}"
        if len(values) > 1
        else f"{values[0]:.2f}"
    )


def table(scores, layers, seeds: list[int]) -> str:
    from metalora.i18n import layer_name

    lines = [
        f"The demo's MetaLoRA run, trained once per seed ({', '.join(map(str, seeds))}); its scaling factors "
        "clustered in other ways and scored against the kinds of input (mean ± standard deviation over the "
        "seeds); from `python benchmarks/bench_demo_clusters.py --write-results docs/results.md`.",
        "",
        "| clustering | ARI | NMI |",
        "|---|---:|---:|",
    ]
    for name, pairs in scores.items():
        lines.append(f"| {name} | {mean_sd([a for a, _ in pairs])} | {mean_sd([n for _, n in pairs])} |")
    per_layer = ", ".join(f"{layer_name(n, 'en')} {statistics.fmean(v):.2f}" for n, v in layers.items())
    lines += ["", f"- One layer at a time (Ward, k = 4), mean ARI: {per_layer}."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--write-results", metavar="FILE")
    args = ap.parse_args()
    scores, layers = run(args.seeds)
    text = table(scores, layers, args.seeds)
    print(text)
    if args.write_results:
        write_block(Path(args.write_results), "bench_demo_clusters", text)


if __name__ == "__main__":
    main()
