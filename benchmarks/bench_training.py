"""Training benchmarks: the cost of a MetaLoRA step, and the dashboard's default demo run.

    python benchmarks/bench_training.py [--steps 15] [--quick] [--skip-demo] [--threads N]
                                        [--device auto|cpu|cuda] [--write-results F.md | --write-readme]

1. **Step ratio.** One AdamW training step (forward, backward, update; batch 64 of 1x32x32 digits) on
   the small ResNet with MetaLoRA (Tensor Ring, and CP) against LoRA at the same rank (the demo's and the
   library's default), and against
   Hugging Face PEFT's LoRA on the same layers when ``peft`` is installed
   (``pip install -r requirements-bench.txt``). Steps are interleaved across methods and the medians
   compared, so a busy machine slows all alike; the same for the plain 64-channel net of the speed issue
   (:class:`Plain64`, 3x32x32). Target: MetaLoRA <= 1.0x PEFT LoRA. On CUDA the timings are synchronised and each
   method's peak memory is reported.
   ``--per-layer`` times each adapted layer of that step alone (forward+backward: frozen, LoRA, MetaLoRA-TR),
   to show where the difference comes from: a Tensor-Ring layer carries R² ring channels, LoRA R. The
   frozen stem's time is its forward only: its input, the data, needs no gradient.
2. **Demo run.** :data:`~metalora.training.demo.DEMO_TRAIN_CONFIG` with the demo model, data, method
   and rank, through :func:`~metalora.training.run.train_run` (wall time, data loading excluded:
   the dashboard has the data in memory already), and its 4-domain test accuracy against the frozen
   base model's. It runs first, with the system's allocator, as in the dashboard. Targets: < 20 s on
   2 CPU cores; clearly better than the frozen base.

Numbers are ratios and times measured in one run on this machine, printed, not asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_common import (  # noqa: E402  (benchmarks/ is on sys.path)
    DEVICE_HELP,
    allocator_label,
    device_label,
    interleaved_medians,
    randomise_factors,
    steady_allocator,
    sync,
    write_block,
)
from peft_methods import PEFT_LORA, PEFT_SKIPPED, peft_available, register_peft_methods  # noqa: E402

from metalora.adapters.features import FeatureCache  # noqa: E402
from metalora.device import pick_device  # noqa: E402
from metalora.methods import DEFAULT_RANK, method_label  # noqa: E402
from metalora.models import build_model, list_sample_models, resolve_model  # noqa: E402
from metalora.training import evaluate  # noqa: E402
from metalora.training.demo import (  # noqa: E402
    DEMO_ADAPTER_KWARGS,
    DEMO_DATA,
    DEMO_METHOD,
    DEMO_MODEL,
    DEMO_RANK,
    DEMO_TRAIN_CONFIG,
    demo_ranks,
)
from metalora.training.methods import prepare  # noqa: E402
from metalora.training.run import train_run  # noqa: E402

STEP_METHODS = ("lora", "meta-tr", "meta-cp")  # LoRA first: every ratio is to it
# A MetaLoRA step from the second epoch on: ``fit`` reads each training image's frozen features from a
# FeatureCache (TrainConfig(cache_features=True)), so the backbone's feature pass is not run again.
CACHED = "+cached"
CACHED_METHODS = tuple(m + CACHED for m in STEP_METHODS[1:])
# PEFT's LoRA at rank R²: as many rank channels as a Tensor Ring of rank R passes between a layer's input
# and output sides; the reference for the Tensor-Ring rows (its format's cost, with no input-conditioning).
SQUARED = "@r2"


def step_label(method: str) -> str:
    """The table's name of a step-benchmark method (a cached-features variant says so)."""
    if method.endswith(CACHED):
        return f"{method_label(method.removesuffix(CACHED))}, features cached (epoch 2 on)"
    if method.endswith(SQUARED):
        return f"{method_label(method.removesuffix(SQUARED))} at rank R² (a Tensor Ring's channels)"
    return method_label(method)


class Plain64(torch.nn.Module):
    """The issue's plain 64-channel net: stem Conv2d 3→64 3×3 pad 1, two residual blocks of two Conv2d
    64→64 3×3 pad 1 with ReLU, global average pool, Linear 64→10."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        conv = partial(torch.nn.Conv2d, 64, 64, 3, padding=1)
        self.stem = torch.nn.Conv2d(in_channels, 64, 3, padding=1)
        self.blocks = torch.nn.ModuleList(torch.nn.ModuleList([conv(), conv()]) for _ in range(2))
        self.fc = torch.nn.Linear(64, num_classes)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        for a, b in self.blocks:
            x = torch.relu(x + b(torch.relu(a(x))))
        return self.fc(x.mean(dim=(2, 3)))


NETS = {  # name: (builder, input channels)
    "small ResNet": (lambda: build_model("resnet-mini", in_channels=1, num_classes=10), 1),
    "plain 64-channel net": (lambda: Plain64(3, 10), 3),
}


def step_times(
    methods: list[str],
    rank: int,
    steps: int,
    warmup: int = 3,
    device=None,
    batch: int = 64,
    net_name: str = "small ResNet",
) -> tuple[dict[str, float], dict[str, float]]:
    """Median seconds of one training step per method, steps interleaved across methods; and, on CUDA,
    each method's peak allocated memory in MiB over one step."""
    device = device or torch.device("cpu")
    builder, channels = NETS[net_name]
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(batch, channels, 32, 32, generator=g), torch.randint(0, 10, (batch,), generator=g)
    x, y = x.to(device), y.to(device)
    runs = {}
    caches = {}
    for m in methods:
        torch.manual_seed(0)
        base = builder()
        # PEFT's LoRA too: a registered method
        name = m.removesuffix(CACHED).removesuffix(SQUARED)
        net, params = prepare(base, name, rank=rank * rank if m.endswith(SQUARED) else rank)
        net = net.to(device).train()
        runs[m] = (net, torch.optim.AdamW(params, lr=1e-3))
        if m.endswith(CACHED):  # filled by the first (warm-up) step, read by every later one
            caches[m] = FeatureCache(batch)
    indices = torch.arange(batch)

    def step(net, opt, cache=None):
        with net.cached_features(cache, indices) if cache is not None else contextlib.nullcontext():
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    times: dict[str, list[float]] = {m: [] for m in methods}
    for i in range(warmup + steps):
        for m, (net, opt) in runs.items():
            sync(device)
            t = time.perf_counter()
            step(net, opt, caches.get(m))
            sync(device)
            if i >= warmup:
                times[m].append(time.perf_counter() - t)
    for m, cache in caches.items():  # every timed step read the cache
        if cache.hits < steps:
            raise RuntimeError(f"{m}: the feature cache was read {cache.hits} times in {steps} steps")
    peaks = {}
    if device.type == "cuda":
        for m, (net, opt) in runs.items():
            torch.cuda.reset_peak_memory_stats(device)
            step(net, opt, caches.get(m))
            sync(device)
            peaks[m] = torch.cuda.max_memory_allocated(device) / 2**20
    return {m: statistics.median(v) for m, v in times.items()}, peaks


def bench_steps(
    steps: int,
    device,
    ranks=(DEMO_RANK, DEFAULT_RANK),
    batch: int = 64,
    warmup: int = 3,
    with_peft: bool = True,
    allocator: str = "the system's default",
) -> str:
    """The step benchmark as a markdown table (also printed)."""
    peft = [PEFT_LORA, PEFT_LORA + SQUARED] if with_peft else []
    methods = [STEP_METHODS[0], *peft[:1], *STEP_METHODS[1:], *CACHED_METHODS, *peft[1:]]
    cuda = device.type == "cuda"
    print(f"== training step, small ResNet, batch {batch} x 1x32x32, device {device_label(device)}, "
          f"{torch.get_num_threads()} thread(s)", flush=True)  # fmt: skip
    lines = [
        f"One AdamW step (batch {batch} at 32x32: the small ResNet on 1-channel digits, the plain 64-channel "
        f"net on 3 channels), every Conv2d and Linear adapted, each layer on the contraction the planner timed "
        f"fastest; device {device_label(device)}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"CPU allocator: {allocator}, median of {steps} interleaved steps. Target: MetaLoRA ≤ 1.0× PEFT LoRA. "
        f'Rows "features cached" are a MetaLoRA step from the second epoch on, when `fit` reads each training '
        f"image's frozen features from its cache instead of running the backbone's feature pass again. "
        + (
            "The row PEFT LoRA at rank R² has as many rank channels as a Tensor Ring of rank R passes between a "
            "layer's input and output sides: that format's cost without any input-conditioning."
            if with_peft
            else ""
        ),
        "",
        "| net | rank | method | step ms | ÷ LoRA | ÷ PEFT LoRA |" + (" CUDA peak MiB |" if cuda else ""),
        "|---|---:|---|---:|---:|---:|" + ("---:|" if cuda else ""),
    ]
    for net_name in NETS:
        for rank in sorted(set(ranks)):
            t, peaks = step_times(methods, rank, steps, warmup, device, batch, net_name)
            for m in methods:
                peft = f"{t[m] / t[PEFT_LORA]:.2f}" if PEFT_LORA in t else "–"
                lines.append(
                    f"| {net_name} | {rank} | {step_label(m)} | {1000 * t[m]:.1f} | {t[m] / t['lora']:.2f} "
                    f"| {peft} |" + (f" {peaks[m]:.0f} |" if m in peaks else "")
                )
            print(
                f"{net_name}, rank {rank}: LoRA {1000 * t['lora']:.0f} ms, meta-tr {1000 * t['meta-tr']:.0f} ms "
                f"({t['meta-tr'] / t['lora']:.2f}x), meta-cp {1000 * t['meta-cp']:.0f} ms "
                f"({t['meta-cp'] / t['lora']:.2f}x)"
                + (
                    f", PEFT LoRA {1000 * t[PEFT_LORA]:.0f} ms (meta-tr {t['meta-tr'] / t[PEFT_LORA]:.2f}x, "
                    f"meta-cp {t['meta-cp'] / t[PEFT_LORA]:.2f}x)"
                    if PEFT_LORA in t
                    else ""
                ),
                flush=True,
            )
    if not with_peft:
        lines += ["", PEFT_SKIPPED]
    table = "\n".join(lines)
    print(table)
    return table


def layer_breakdown(
    rank: int, repeats: int, device, batch: int = 64, allocator: str = "the system's default"
) -> str:
    """Forward+backward of every adapted layer of the small ResNet on its own input (shapes, and whether the input
    needs a gradient, as in the step), frozen vs LoRA vs MetaLoRA-TR at ``rank``, as a markdown table with the
    per-layer and total differences. The frozen stem has nothing to backpropagate (its input is the data): forward
    only."""
    from metalora.adapters import AdapterLayer

    nets = {}
    for m in ("lora", "meta-tr"):
        torch.manual_seed(0)
        nets[m] = prepare(build_model("resnet-mini", in_channels=1, num_classes=10), m, rank=rank)[0].to(
            device
        )
    inputs: dict[str, tuple] = {}

    def keep_input(module, args, out, name):
        # The adapted pass only, not the feature pass before it (no gradients there). Returns None: a hook's
        # return value would replace the layer's output.
        if torch.is_grad_enabled():
            inputs[name] = args[0]

    hooks = [
        layer.register_forward_hook(partial(keep_input, name=name))
        for name, layer in nets["meta-tr"].named_modules()
        if isinstance(layer, AdapterLayer)
    ]
    nets["meta-tr"](torch.rand(batch, 1, 32, 32, device=device))
    for h in hooks:
        h.remove()
    layers = {m: dict(net.named_modules()) for m, net in nets.items()}
    lines = [
        f"Each adapted layer of the small ResNet on its own (batch {batch}), forward+backward ms, rank {rank} "
        f"(R² = {rank * rank} ring channels); device {device_label(device)}, CPU allocator: {allocator}, "
        f"median of {repeats}. The frozen stem's time is its forward only: its input, the data, needs no gradient.",
        "",
        "| layer | shape | frozen | LoRA | MetaLoRA-TR | TR − LoRA |",
        "|---|---|---:|---:|---:|---:|",
    ]
    total = {"frozen": 0.0, "lora": 0.0, "meta-tr": 0.0}
    g = torch.Generator().manual_seed(0)
    for name, x in inputs.items():
        xg = torch.randn(x.shape, generator=g).to(device).requires_grad_(x.requires_grad)
        tr, lora = layers["meta-tr"][name], layers["lora"][name]
        tr.input_scaling = 1 + 0.1 * torch.randn(x.shape[0], rank, generator=g).to(device)
        for layer in (tr, lora):
            randomise_factors(layer)

        def fwd_bwd(layer, xg=xg):
            y = layer(xg)
            if y.requires_grad:  # not the frozen stem: its input, the data, needs no gradient
                y.backward(torch.ones_like(y))

        variants = {"frozen": tr.base_layer, "lora": lora, "meta-tr": tr}
        ms = interleaved_medians({k: partial(fwd_bwd, v) for k, v in variants.items()}, device, repeats)
        base = tr.base_layer
        if isinstance(base, torch.nn.Conv2d):
            k, st = base.kernel_size, base.stride[0]
            shape = f"{base.in_channels}→{base.out_channels} {k[0]}×{k[1]}" + (
                f" stride {st}" if st > 1 else ""
            )
            shape += f", {x.shape[-2]}×{x.shape[-1]}"
        else:
            shape = f"linear {base.in_features}→{base.out_features}"
        if tr.last_contraction:
            shape += f", {tr.last_contraction[0]}"
        for key in total:
            total[key] += ms[key]
        lines.append(
            f"| {name} | {shape} | {ms['frozen']:.2f} | {ms['lora']:.2f} | {ms['meta-tr']:.2f} "
            f"| {ms['meta-tr'] - ms['lora']:+.2f} |"
        )
    lines.append(
        f"| **all layers** | | {total['frozen']:.1f} | {total['lora']:.1f} | {total['meta-tr']:.1f} "
        f"| {total['meta-tr'] - total['lora']:+.1f} |"
    )
    table = "\n".join(lines)
    print(table, flush=True)
    return table


def bench_demo() -> None:
    print("== demo run")
    if DEMO_MODEL.removeprefix("sample:") not in list_sample_models():
        print(f"skipped: the sample model {DEMO_MODEL} is not installed (make sample-models)")
        return
    splits = DEMO_DATA.load()  # cached for train_run below, as the dashboard has it in memory
    base, _ = resolve_model(DEMO_MODEL, splits)
    frozen = evaluate(base, splits.test)
    cfg = DEMO_TRAIN_CONFIG
    rank = demo_ranks(base)[DEMO_METHOD]  # at LoRA's budget, as the dashboard trains it
    print(f"{DEMO_MODEL} on {DEMO_DATA.name} {list(DEMO_DATA.domains)}, {DEMO_METHOD} rank {rank}, "
          f"{dict(DEMO_ADAPTER_KWARGS)}, epochs {cfg.epochs}, lr {cfg.lr:g}, batch {cfg.batch_size}")  # fmt: skip
    t = time.perf_counter()
    res = train_run(
        DEMO_MODEL, DEMO_DATA, DEMO_METHOD, cfg, rank=rank, adapter_kwargs=dict(DEMO_ADAPTER_KWARGS)
    )
    wall = time.perf_counter() - t
    print(f"wall time {wall:.1f} s (fit {res.train_time_s:.1f} s; target < 20 s on 2 CPU cores)")
    print(f"test accuracy: adapted {100 * res.accuracy:.1f}% vs frozen base {100 * frozen.accuracy:.1f}%")
    for d, a in res.per_domain.items():
        print(
            f"  {d:10s} adapted {100 * a:5.1f}%   frozen {100 * frozen.per_domain.get(d, float('nan')):5.1f}%"
        )
    print(f"trainable parameters {res.trainable_params:,} of {res.total_params:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15, help="timed steps per method (default: 15)")
    parser.add_argument("--quick", action="store_true", help="3 timed steps after 1 warm-up (under a minute)")
    parser.add_argument(
        "--ranks",
        type=int,
        nargs="+",
        default=[DEMO_RANK, DEFAULT_RANK],
        help="ranks of the step table (default: the demo's and the library's default, %(default)s)",
    )
    parser.add_argument(
        "--batch", type=int, default=64, help="batch size of the step benchmark (default: 64)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument(
        "--device", default="auto", help=f"device of the step benchmark: {DEVICE_HELP} (default: auto)"
    )
    parser.add_argument("--skip-demo", action="store_true", help="only the step benchmark")
    parser.add_argument(
        "--per-layer",
        action="store_true",
        help="also time each adapted layer alone, frozen vs LoRA vs MetaLoRA-TR, at the largest rank",
    )
    parser.add_argument(
        "--system-allocator",
        action="store_true",
        help="time with the system allocator's defaults (see benchmarks/bench_layers.py)",
    )
    parser.add_argument("--write-readme", action="store_true", help="refresh the step table in README.md")
    parser.add_argument(
        "--write-results", type=Path, metavar="PATH", help="refresh the step table in this markdown file"
    )
    args = parser.parse_args()
    register_peft_methods()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if not args.skip_demo:  # first, as the dashboard runs it: with the system's allocator
        bench_demo()
    allocator = allocator_label(not args.system_allocator and steady_allocator())
    print(f"bench_training: device {device_label(device)}, CPU allocator: {allocator}", flush=True)
    with_peft = peft_available()
    if not with_peft:
        print(PEFT_SKIPPED, flush=True)
    steps, warmup = (3, 1) if args.quick else (args.steps, 3)
    table = bench_steps(steps, device, args.ranks, args.batch, warmup, with_peft, allocator)
    for path in ([ROOT / "README.md"] if args.write_readme else []) + (
        [args.write_results] if args.write_results else []
    ):
        write_block(path, "bench_training", table)
    if args.per_layer:
        breakdown = layer_breakdown(max(args.ranks), steps, device, args.batch, allocator)
        for path in [args.write_results] if args.write_results else []:
            write_block(path, "bench_training_layers", breakdown)


if __name__ == "__main__":
    main()
