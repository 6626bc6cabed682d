"""Training step time and peak memory on real backbones, against Hugging Face PEFT's LoRA at the same rank.

``python benchmarks/bench_zoo.py --write-results docs/results.md`` (about 10 minutes on 2 CPU cores):
torchvision's resnet18 (batch 32) and timm's vit_tiny_patch16_224 (batch 8), both at 224x224 with random
initialisation and a new 10-class head that every method trains in full (``modules_to_save`` for ours and
PEFT's), every other Conv2d / Linear adapted at rank 8. The step times of all methods of a model are
measured in one process, round-robin (one step of each method in turn, after two warm-up steps each), so
that background load hits every method alike; the median per method is reported. Peak memory is measured
apart: each (model, method) trains a few steps in a fresh process, whose peak resident memory is its own.
The ratios to PEFT LoRA are of this one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CASES = {"torchvision:resnet18": 32, "timm:vit_tiny_patch16_224": 8}
METHODS = ("peft-lora", "lora", "cp", "tr", "meta-cp", "meta-tr")
BLOCK = "bench_zoo"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build(model_name: str, method: str, rank: int, size: int):
    """``(model in train mode, its trainable parameters)``: ours through ``prepare``, PEFT's LoRA with the
    new head in ``modules_to_save``; every output-side factor drawn non-zero, so all gradients are computed."""
    import torch

    from metalora.models import build_zoo_model
    from metalora.training.methods import prepare

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
        net = get_peft_model(
            base, LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=names, modules_to_save=[head])
        )
        zero_init = ("lora_B",)
    else:
        net, _ = prepare(base, method, rank=rank, num_classes=10)
        zero_init = ("adapter_B", "adapter_A", "adapter_G1")
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.requires_grad and set(name.split(".")) & set(zero_init) and p.abs().sum() == 0:
                p.normal_(0, 0.02)
    return net.train(), [p for p in net.parameters() if p.requires_grad]


def _stepper(net, params, batch: int, size: int):
    import torch

    opt = torch.optim.AdamW(params, lr=1e-3)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(batch, 3, size, size, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    return step


def time_model(model_name: str, methods, batch: int, rank: int, steps: int, size: int) -> dict[str, dict]:
    """Median step seconds of every method of one model, measured round-robin in this process."""
    import torch
    from bench_common import interleaved_medians, steady_allocator

    steady_allocator()
    nets = {m: build(model_name, m, rank, size) for m in methods}
    fns = {m: _stepper(net, params, batch, size) for m, (net, params) in nets.items()}
    ms = interleaved_medians(fns, torch.device("cpu"), repeats=steps, warmup=2)
    return {m: {"step_s": ms[m] / 1e3, "trainable": sum(p.numel() for p in nets[m][1])} for m in methods}


def peak_memory(model_name: str, method: str, batch: int, rank: int, size: int) -> float:
    """Peak resident memory (MiB) of this process after three training steps of one method."""
    from bench_common import steady_allocator

    steady_allocator()
    net, params = build(model_name, method, rank, size)
    step = _stepper(net, params, batch, size)
    for _ in range(3):
        step()
    return _peak_rss_mib()


def _child(*args: str) -> dict:
    cmd = [sys.executable, __file__, "--child", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_all(rank: int, steps: int, size: int, methods, cases) -> list[dict]:
    rows = []
    for model_name, batch in cases.items():
        times = _child("time", model_name, ",".join(methods), str(batch), str(rank), str(steps), str(size))
        for method in methods:
            peak = _child("memory", model_name, method, str(batch), str(rank), str(size))["peak_mib"]
            row = {"model": model_name, "batch": batch, "method": method, **times[method], "peak_mib": peak}
            rows.append(row)
            print(f"{model_name:28s} {method:10s} {row['step_s']:.3f} s  {peak:.0f} MiB", flush=True)
    return rows


def table(rows: list[dict], rank: int, size: int) -> str:
    import platform

    import torch

    from metalora.methods import method_label

    lines = [
        f"Training step on real backbones at {size}x{size}, rank {rank}, random initialisation, a new 10-class "
        f"head trained in full by every method; cpu ({platform.processor() or 'cpu'}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; median of the timed steps, all methods of a model timed round-robin in one process; peak resident memory of a fresh process per method; "
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
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, model_name, *rest = args.child
        if kind == "time":
            methods, batch, rank, steps, size = rest
            result = time_model(model_name, methods.split(","), int(batch), int(rank), int(steps), int(size))
        else:
            method, batch, rank, size = rest
            result = {"peak_mib": peak_memory(model_name, method, int(batch), int(rank), int(size))}
        print(json.dumps(result))
        return 0
    cases, methods = CASES, METHODS
    if args.quick:
        args.size, args.steps, args.rank = 32, 2, 2
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
