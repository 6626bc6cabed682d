"""Could another clustering group the demo's inputs by kind better? Variants on the same scaling factors.

    python benchmarks/bench_demo_clusters.py [--seeds 0 1 2] [--write-results docs/results.md]

Trains the dashboard demo's MetaLoRA run once per seed (its settings: ``metalora/training/demo.py``), takes
the scaling factors the Adaptation-clusters page clusters (``RunAnalysis.scaling_table``), and clusters them
again in several ways: the page's (Ward on standardised factors, k by silhouette), k-means, no
standardising, cosine distance, principal components first (plain or whitened), log magnitudes, one layer at
a time, and the true number of kinds given (k = 4). Each is scored against the kinds of input (ARI, NMI,
mean ± standard deviation over the seeds). For scale, two groupings that are not clusterings are scored on
the same inputs: clean and mirrored digits in one group and every other kind in its own, and the same with
only the mirrored 0, 1 and 8 (about symmetric: a mirror leaves them alike) with the clean ones.
``--write-results`` writes the table into the file's ``bench_demo_clusters`` block.
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


def references(table) -> dict[str, float]:
    """ARI of two groupings that are not clusterings, on the same inputs: what a clustering would score if it
    put clean and mirrored digits in one group and every other kind in a group of its own (the page's finding
    at best), and if it also told mirrored digits from upright ones except those a mirror leaves alike
    (0, 1 and 8, about symmetric)."""
    from sklearn.metrics import adjusted_rand_score

    names = list(table.domain_names)
    kinds = np.asarray(table.domain)
    if not {"clean", "mirror"} <= set(names):
        return {}
    clean, mirror = names.index("clean"), names.index("mirror")
    merged = np.where(kinds == mirror, clean, kinds)
    symmetric = np.isin(np.asarray(table.class_names)[table.y], ["0", "1", "8"])
    alike = np.where((kinds == mirror) & symmetric, clean, kinds)
    return {
        "clean and mirrored in one group, every other kind in its own": adjusted_rand_score(kinds, merged),
        "every kind in its own, but mirrored 0, 1 and 8 with the clean ones": adjusted_rand_score(
            kinds, alike
        ),
    }


def run(seeds: list[int]) -> tuple[dict, dict[str, list[float]], dict[str, list[float]]]:
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
    refs: dict[str, list[float]] = {}
    for seed in seeds:
        cfg = replace(DEMO_TRAIN_CONFIG, seed=seed)
        res = train_run(DEMO_MODEL, splits, meta, cfg, rank=rank, adapter_kwargs=dict(DEMO_ADAPTER_KWARGS))
        table = RunAnalysis(res.model, splits.test).scaling_table()
        for name, (x, options) in variants(table).items():
            scores.setdefault(name, []).append(score(table, x, options, seed))
        for name, ari in references(table).items():
            refs.setdefault(name, []).append(ari)
        for layer in table.layers:
            ari, _ = score(table, standardised(table.matrix(layer)), {"k": 4}, seed)
            layers.setdefault(layer, []).append(ari)
        print(f"seed {seed}: the page's ARI {scores[next(iter(scores))][-1][0]:.2f}", flush=True)
    return scores, layers, refs


def mean_sd(values: list[float]) -> str:
    return (
        f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}"
        if len(values) > 1
        else f"{values[0]:.2f}"
    )


def table(scores, layers, refs, seeds: list[int]) -> str:
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
    for name, values in refs.items():
        lines.append(f"- For reference, not a clustering: {name}, ARI {mean_sd(values)}.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--write-results", metavar="FILE")
    args = ap.parse_args()
    scores, layers, refs = run(args.seeds)
    text = table(scores, layers, refs, args.seeds)
    print(text)
    if args.write_results:
        write_block(Path(args.write_results), "bench_demo_clusters", text)


if __name__ == "__main__":
    main()
