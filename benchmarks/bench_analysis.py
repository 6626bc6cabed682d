"""Time every analysis of ``metalora.analysis`` (and the figures) on the demo set.

The demo: the 4-domain built-in digits (clean / inverted / rotate90 / mirror), train + val + test
images (1,797 in all), on the small ResNet (``resnet-mini``, 1 channel) adapted with MetaLoRA-TR of
rank 8 (``metalora.methods.DEFAULT_RANK``). The adapters are given small random values (as after some
training), so that the scaling factors vary between inputs and ΔW is not zero. Target: each analysis under 5 s on 2 CPU cores. Nothing is asserted;
the script prints a table.

    python benchmarks/bench_analysis.py               # all analyses
    python benchmarks/bench_analysis.py --threads 1   # torch / BLAS threads
    python benchmarks/bench_analysis.py --tsne        # also time the t-SNE map
    python benchmarks/bench_analysis.py --inputs 200  # a quick run on fewer inputs
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch


def demo(rank: int | None = None, method: str = "meta-tr", seed: int = 0):
    from metalora import DEFAULT_RANK, MetaLoRAConfig, get_model
    from metalora.data import DEFAULT_DEMO_DOMAINS, ImageDataset, load_builtin
    from metalora.models import build_model

    splits = load_builtin("digits", domains=DEFAULT_DEMO_DOMAINS, seed=seed)
    parts = [splits.train, splits.val, splits.test]
    data = ImageDataset(
        np.concatenate([p.x for p in parts]),
        np.concatenate([p.y for p in parts]),
        np.concatenate([p.domain for p in parts]),
        parts[0].class_names,
        parts[0].domain_names,
        name="digits/demo",
    )
    torch.manual_seed(seed)
    base = build_model("resnet-mini", in_channels=1, num_classes=10)
    model = get_model(base, MetaLoRAConfig(method=method, rank=rank or DEFAULT_RANK)).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # stand-in for training: small random adapters and mapping network
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn(p.shape, generator=g))
    return model, data


class Timer:
    def __init__(self):
        self.rows: list[tuple[str, float, str]] = []

    def __call__(self, name: str, fn, note: str = ""):
        t0 = time.perf_counter()
        out = fn()
        self.rows.append((name, time.perf_counter() - t0, note))
        print(f"  {name:<44s} {self.rows[-1][1]:7.2f} s  {note}", flush=True)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--tsne", action="store_true", help="also time the t-SNE map")
    ap.add_argument("--inputs", type=int, default=None, help="use only this many inputs")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from metalora import figures as F
    from metalora.analysis import (
        aggregate_runs,
        cluster_scaling,
        collect_scaling,
        compare_inputs,
        component_energy,
        component_usage,
        core_spectra,
        cost_report,
        layer_rank_sweep,
        model_rank_sweeps,
        nearest_inputs,
        scaling_distance,
        scaling_stats,
        summarise_domains,
    )

    model, data = demo()
    if args.inputs:
        data = data.subset(np.arange(min(args.inputs, len(data))))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rank = next(iter(model.adapted_layers().values())).rank
    print(
        f"demo: {len(data)} inputs, {len(data.domain_names)} domains, resnet-mini + meta-tr rank {rank}, "
        f"{len(model.adapted_layers())} adapted layers; {cpus} CPUs, torch threads {torch.get_num_threads()}"
    )
    timer = Timer()
    table = timer("scaling: collect (forward + predictions)", lambda: collect_scaling(model, data))
    timer("scaling: collect (feature pass only)", lambda: collect_scaling(model, data, predict=False))

    def summaries():
        scaling_stats(table, "domain"), scaling_stats(table, "class")
        component_usage(table, 0), scaling_distance(table, 0, 1), nearest_inputs(table, 0)

    timer("scaling: summaries (stats, usage, distance)", summaries)
    biggest = max(model.adapted_layers(), key=lambda n: model.adapted_layers()[n].base_layer.weight.numel())
    one = timer(
        "ranks: sweep of the largest layer",
        lambda: layer_rank_sweep(model, biggest, table),
        f"{biggest}, ranks 1-{rank}, CP+Tucker+TR",
    )
    sweeps = timer("ranks: sweeps of all layers", lambda: model_rank_sweeps(model, table))
    spectra = timer("ranks: spectra of the learned cores", lambda: core_spectra(model))
    energy = timer("ranks: scaling-factor energy", lambda: component_energy(model, table))
    clusters = timer("clusters: k-means, k by silhouette 2-10, PCA", lambda: cluster_scaling(table))
    timer("clusters: agglomerative k=4, PCA", lambda: cluster_scaling(table, k=4, method="agglomerative"))
    if args.tsne:
        timer("clusters: k-means k=4, t-SNE map", lambda: cluster_scaling(table, k=4, embed="tsne"))
    x = torch.as_tensor(data.x[:64])
    report = timer("cost: report (FLOPs, latency, memory, storage)", lambda: cost_report(model, x))
    runs = [
        {
            **report.row(),
            "method": "meta-tr",
            "rank": rank,
            "seed": s,
            "accuracy": 0.9 + 0.01 * s,
            "per_domain": {d: 0.9 for d in data.domain_names},
        }
        for s in range(3)
    ]

    def figures():
        out = [
            F.scaling_heatmap(table, biggest),
            F.scaling_distributions(table, biggest),
            F.input_scaling(compare_inputs(table, 0)),
            F.input_scaling(compare_inputs(table, 0, 1)),
            F.scaling_specificity(scaling_stats(table)),
            F.error_vs_rank(one),
            F.spectra_figure(spectra[biggest]),
            F.component_energy_figure(energy[biggest]),
            F.effective_ranks(sweeps),
            F.cluster_map(clusters, table),
            F.silhouette_vs_k(clusters),
            F.accuracy_vs_cost(aggregate_runs(runs)),
            F.domain_accuracy(summarise_domains(runs)),
        ]
        for f in out:
            f.fig.to_json()  # what a browser receives
        return out

    timer("figures: all 13 builders (+ JSON)", figures)
    print()
    print(f"{'analysis':<46s} {'seconds':>8s}  under 5 s")
    for name, sec, _ in timer.rows:
        print(f"{name:<46s} {sec:8.2f}  {'yes' if sec < 5 else 'NO'}")
    print()
    print(
        f"largest layer {biggest}: effective ranks {one.effective_rank} ({one.rule}), errors there "
        f"{ {m: round(e, 3) for m, e in one.effective_error.items()} }; seconds {one.seconds}"
    )
    print(
        f"clusters: k={clusters.k}, silhouette {clusters.silhouette:.3f}, ARI domain {clusters.ari['domain']:.3f}"
    )
    print(
        f"cost: {report.flops_base / 1e6:.1f} MFLOPs base, {report.flops_adapted / 1e6:.1f} adapted per input; "
        f"latency {1e3 * report.latency_s:.1f} ms vs {1e3 * (report.latency_base_s or 0):.1f} ms per batch of 64; "
        f"adapter {report.adapter_bytes / 1024:.0f} KiB vs full {report.full_bytes / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
