"""Training benchmarks: the cost of a MetaLoRA step, and the dashboard's default demo run.

    python benchmarks/bench_training.py [--steps 15] [--skip-demo] [--threads N]

1. **Step ratio.** One AdamW training step (forward, backward, update; batch 64 of 1x32x32 digits) on
   the small ResNet with MetaLoRA (Tensor Ring) against LoRA at the same rank. Steps of the two are
   interleaved and the medians compared, so a busy machine slows both alike. Target: <= 1.5x.
2. **Demo run.** :data:`~metalora.training.runner.DEMO_TRAIN_CONFIG` with the demo model, data, method
   and rank, through :func:`~metalora.training.runner.train_run` (wall time, data loading excluded:
   the dashboard has the data in memory already), and its 4-domain test accuracy against the frozen
   base model's. Targets: < 20 s on 2 CPU cores; clearly better than the frozen base.

Numbers are ratios and times measured in one run on this machine, printed, not asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metalora.models import build_model, list_sample_models
from metalora.training import evaluate
from metalora.training.methods import prepare
from metalora.training.runner import (
    DEMO_DATA,
    DEMO_METHOD,
    DEMO_MODEL,
    DEMO_RANK,
    DEMO_TRAIN_CONFIG,
    resolve_model,
    train_run,
)


def step_times(methods: list[str], rank: int, steps: int, warmup: int = 3) -> dict[str, float]:
    """Median seconds of one training step per method, steps interleaved across methods."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 1, 32, 32, generator=g), torch.randint(0, 10, (64,), generator=g)
    runs = {}
    for m in methods:
        torch.manual_seed(0)
        base = build_model("resnet-mini", in_channels=1, num_classes=10)
        net, params = prepare(base, m, rank=rank)
        runs[m] = (net.train(), torch.optim.AdamW(params, lr=1e-3))
    times: dict[str, list[float]] = {m: [] for m in methods}
    for i in range(warmup + steps):
        for m, (net, opt) in runs.items():
            t = time.perf_counter()
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if i >= warmup:
                times[m].append(time.perf_counter() - t)
    return {m: statistics.median(v) for m, v in times.items()}


def bench_steps(steps: int) -> None:
    print(f"== training step, small ResNet, batch 64 x 1x32x32, {torch.get_num_threads()} thread(s)")
    for rank in sorted({DEMO_RANK, 8}):
        t = step_times(["lora", "meta-tr", "meta-cp"], rank, steps)
        print(
            f"rank {rank}: LoRA {1000 * t['lora']:.0f} ms, meta-tr {1000 * t['meta-tr']:.0f} ms "
            f"(ratio {t['meta-tr'] / t['lora']:.2f}x, target <= 1.5x), "
            f"meta-cp {1000 * t['meta-cp']:.0f} ms ({t['meta-cp'] / t['lora']:.2f}x)"
        )


def bench_demo() -> None:
    print("== demo run")
    if DEMO_MODEL.removeprefix("sample:") not in list_sample_models():
        print(f"skipped: the sample model {DEMO_MODEL} is not installed (make sample-models)")
        return
    splits = DEMO_DATA.load()  # cached for train_run below, as the dashboard has it in memory
    base, _ = resolve_model(DEMO_MODEL, splits)
    frozen = evaluate(base, splits.test)
    cfg = DEMO_TRAIN_CONFIG
    print(f"{DEMO_MODEL} on {DEMO_DATA.name} {list(DEMO_DATA.domains)}, {DEMO_METHOD} rank {DEMO_RANK}, "
          f"epochs {cfg.epochs}, lr {cfg.lr:g}, batch {cfg.batch_size}")  # fmt: skip
    t = time.perf_counter()
    res = train_run(DEMO_MODEL, DEMO_DATA, DEMO_METHOD, cfg, rank=DEMO_RANK)
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
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--skip-demo", action="store_true", help="only the step benchmark")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    bench_steps(args.steps)
    if not args.skip_demo:
        bench_demo()


if __name__ == "__main__":
    main()
