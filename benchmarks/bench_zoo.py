"""Training step time and peak memory on real backbones, against Hugging Face PEFT's LoRA at the same rank.

``python benchmarks/bench_zoo.py --write-results docs/results.md`` (about 10 minutes on 2 CPU cores):
torchvision's resnet18 (batch 32) and timm's vit_tiny_patch16_224 (batch 8), both at 224x224 with random
initialisation and a new 10-class head that every method trains in full (``modules_to_save`` for ours and
PEFT's), every other Conv2d / Linear adapted at rank 8. Each (model, method) runs in a fresh process,
so its peak resident memory is its own; the step is timed after two warm-up steps (median of the rest).
The ratios to PEFT LoRA are of this one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CASES = {"torchvision:resnet18": 32, "timm:vit_tiny_patch16_224": 8}
METHODS = ("peft-lora", "lora", "cp", "tr", "meta-cp", "meta-tr")
BLOCK = "bench_zoo"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(model_name: str, method: str, batch: int, rank: int, steps: int, size: int) -> dict:
    """One (model, method) in this process: median step seconds and peak RSS (MiB)."""
    import torch
    from bench_common import steady_allocator

    from metalora.models import build_zoo_model
    from metalora.training.methods import prepare

    steady_allocator()
    torch.manual_seed(0)
    base = build_zoo_model(model_name, num_classes=10, image_size=size)
    if method == "peft-lora":
        from peft_methods import _torchvision_first

        _torchvision_first()
        from peft import LoraConfig, get_peft_model

        head = base.new_head
        names = [
            n
            for n, m in base.named_modules()
            if isinstance(m, torch.nn.Conv2d | torch.nn.Linear) and n != head
        ]
        config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=names, modules_to_save=[head])
        net = get_peft_model(base, config)
        for name, p in net.named_parameters():
            if "lora_B" in name:
                torch.nn.init.normal_(p, 0, 0.02)  # non-zero, so every gradient is computed
        params = [p for p in net.parameters() if p.requires_grad]
    else:
        net, params = prepare(base, method, rank=rank, num_classes=10)
        for name, p in net.named_parameters():
            if name.rsplit(".", 1)[-1] in ("adapter_B", "adapter_A", "adapter_G1") and p.abs().sum() == 0:
                torch.nn.init.normal_(p, 0, 0.02)
    net.train()
    opt = torch.optim.AdamW(params, lr=1e-3)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(batch, 3, size, size, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    times = []
    for _ in range(steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    trainable = sum(p.numel() for p in params)
    return {"step_s": statistics.median(times[2:]), "peak_mib": _peak_rss_mib(), "trainable": trainable}


def run_all(rank: int, steps: int, size: int, methods, cases) -> list[dict]:
    rows = []
    for model_name, batch in cases.items():
        for method in methods:
            cmd = [
                sys.executable,
                __file__,
                "--one",
                model_name,
                method,
                str(batch),
                str(rank),
                str(steps),
                str(size),
            ]
            out = subprocess.run(
                cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"}
            )
            if out.returncode != 0:
                raise SystemExit(f"{model_name} {method} failed:\n{out.stderr[-2000:]}")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append({"model": model_name, "batch": batch, "method": method, **row})
            print(
                f"{model_name:28s} {method:10s} {row['step_s']:.3f} s  {row['peak_mib']:.0f} MiB", flush=True
            )
    return rows


def table(rows: list[dict], rank: int, size: int) -> str:
    import platform

    import torch

    from metalora.methods import method_label

    lines = [
        f"Training step on real backbones at {size}x{size}, rank {rank}, random initialisation, a new 10-class "
        f"head trained in full by every method; cpu ({platform.processor() or 'cpu'}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; median of the timed steps, peak resident memory of the process; "
        "from `python benchmarks/bench_zoo.py --write-results docs/results.md`.",
        "",
        "| model | batch | method | trainable | step s | ÷ PEFT LoRA | peak MiB | ÷ PEFT LoRA |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for model_name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model_name]
        peft = next(r for r in mine if r["method"] == "peft-lora")
        for r in mine:
            label = "PEFT LoRA" if r["method"] == "peft-lora" else method_label(r["method"])
            lines.append(
                f"| {model_name} | {r['batch']} | {label} | {r['trainable']:,} | {r['step_s']:.3f} | "
                f"{r['step_s'] / peft['step_s']:.2f} | {r['peak_mib']:.0f} | {r['peak_mib'] / peft['peak_mib']:.2f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="timed steps after two warm-up steps")
    parser.add_argument("--size", type=int, default=224, help="image side")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the script runs")
    parser.add_argument("--write-results", type=Path, help="markdown file whose bench_zoo block is replaced")
    parser.add_argument("--one", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        model_name, method, batch, rank, steps, size = args.one
        print(json.dumps(measure(model_name, method, int(batch), int(rank), int(steps), int(size))))
        return 0
    cases, methods = CASES, METHODS
    if args.quick:
        args.size, args.steps, args.rank = 32, 1, 2
        cases, methods = {"torchvision:resnet18": 2}, ("peft-lora", "meta-tr")
    rows = run_all(args.rank, args.steps, args.size, methods, cases)
    text = table(rows, args.rank, args.size)
    print(text)
    if args.write_results:
        from bench_common import write_block

        write_block(args.write_results, BLOCK, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
