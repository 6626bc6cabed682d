"""Training step time and peak memory on real backbones, against Hugging Face PEFT's LoRA at the same rank.

``python benchmarks/bench_zoo.py --write-results docs/results.md`` (about 10 minutes on 2 CPU cores):
torchvision's resnet18 (batch 32) and timm's vit_tiny_patch16_224 (batch 8), both at 224x224 with random
initialisation and a new 10-class head that every method trains in full (``modules_to_save`` for ours and
PEFT's), every other Conv2d / Linear adapted at rank 8. The step times of all methods of a model are
measured in one process, round-robin (one step of each method in turn, after two warm-up steps each), so
that background load hits every method alike; the median per method is reported. Peak memory is measured
apart: each (model, method) trains a few steps in a fresh process, whose peak resident memory is its own.
The ratios to PEFT LoRA are of this one run.

Each adapted layer runs the contraction the planner times fastest on the device (``MetaLoRAConfig(contraction=
"auto")``; the warm-up steps pay for the timing). Two more rows bound what any contraction can reach:
MetaLoRA's feature pass alone (the frozen backbone's forward that feeds the mapping network, without
gradients), and MetaLoRA with ``feature_source="input-stats"`` (cheap statistics of the image instead of that
pass). A last row, PEFT LoRA at rank R² (64 at rank 8), is the reference for the Tensor-Ring rows: a Tensor Ring of
rank R passes R² channels between a layer's input and output sides, as that LoRA does.

``--inference`` times instead the forward pass (no gradients, batch 4) of the depthwise nets efficientnet_b0 and
convnext_tiny, MetaLoRA against the frozen base, with the same two bounding rows: the feature pass alone, and
MetaLoRA reading input statistics (no feature pass). ``--device cuda --dtype bf16`` runs on a GPU under bf16
autocast (peak memory is then CUDA's allocated peak, measured in the same process).
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
PEFT_SQUARED = "peft-lora@r2"
"""PEFT LoRA at rank R²: as many rank channels as a Tensor Ring of rank R passes between a layer's input and
output sides (the reference for the Tensor-Ring rows)."""
METHODS = (
    "peft-lora",
    "lora",
    "cp",
    "tr",
    "meta-cp",
    "meta-tr",
    "meta-cp+stats",
    "meta-tr+stats",
    PEFT_SQUARED,
)
VARIANTS = {"+stats": {"feature_source": "input-stats"}}
"""Method ids with a suffix: the method with other adapter settings (``+stats``: input-statistics features)."""
FEATURE_PASS = "feature-pass"
INFERENCE_CASES = {"torchvision:efficientnet_b0": 4, "torchvision:convnext_tiny": 4}
INFERENCE_METHODS = ("frozen", "lora", "meta-cp", "meta-tr", "meta-cp+stats", "meta-tr+stats")
BLOCK = "bench_zoo"
DTYPES = {"fp32": None, "bf16": "bfloat16"}


def _split(method: str) -> tuple[str, dict]:
    for suffix, kwargs in VARIANTS.items():
        if method.endswith(suffix):
            return method[: -len(suffix)], kwargs
    return method, {}


def label(method: str) -> str:
    from metalora.methods import method_label

    if method == "peft-lora":
        return "PEFT LoRA"
    if method == PEFT_SQUARED:
        return "PEFT LoRA at rank R² (as many channels as a Tensor Ring of rank R)"
    if method == FEATURE_PASS:
        return "MetaLoRA's feature pass alone (a bound)"
    if method == "frozen":
        return "frozen base"
    base, kwargs = _split(method)
    return method_label(base) + (", input-statistics features" if kwargs else "")


def _device(name: str):
    from metalora.device import pick_device

    return pick_device(name)


def _autocast(device, dtype: str):
    import contextlib

    import torch

    if DTYPES[dtype] is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=getattr(torch, DTYPES[dtype]))


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build(model_name: str, method: str, rank: int, size: int, device=None):
    """``(model in train mode, its trainable parameters)``: ours through ``prepare``, PEFT's LoRA with the
    new head in ``modules_to_save``; every output-side factor drawn non-zero, so all gradients are computed."""
    import torch

    from metalora.models import build_zoo_model
    from metalora.training.methods import prepare

    torch.manual_seed(0)
    base = build_zoo_model(model_name, num_classes=10, image_size=size)
    if method == PEFT_SQUARED:
        method, rank = "peft-lora", rank * rank
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
    elif method == "frozen":
        net = base.requires_grad_(False)
        zero_init = ()
    else:
        name, kwargs = _split(method)
        net, _ = prepare(base, name, rank=rank, num_classes=10, **kwargs)
        zero_init = ("adapter_B", "adapter_A", "adapter_G1")
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.requires_grad and set(name.split(".")) & set(zero_init) and p.abs().sum() == 0:
                p.normal_(0, 0.02)
    net = net.to(device) if device is not None else net
    return net.train(), [p for p in net.parameters() if p.requires_grad]


def _inputs(batch: int, size: int, device):
    import torch

    g = torch.Generator().manual_seed(1)
    x = torch.rand(batch, 3, size, size, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    return (x, y) if device is None else (x.to(device), y.to(device))


def _stepper(net, params, batch: int, size: int, device=None, dtype: str = "fp32"):
    import torch

    opt = torch.optim.AdamW(params, lr=1e-3)
    x, y = _inputs(batch, size, device)
    device = device or x.device

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with _autocast(device, dtype):
            loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    return step


def _feature_pass(net, batch: int, size: int, device, dtype: str):
    x, _ = _inputs(batch, size, device)

    def run() -> None:
        with _autocast(device, dtype):
            net.features(x)

    return run


def _forward(net, batch: int, size: int, device, dtype: str):
    import torch

    x, _ = _inputs(batch, size, device)
    net.eval()

    def run() -> None:
        with torch.no_grad(), _autocast(device, dtype):
            net(x)

    return run


def time_model(
    model_name: str, methods, batch: int, rank: int, steps: int, size: int, device="cpu", dtype="fp32"
) -> dict[str, dict]:
    """Median step seconds of every method of one model, measured round-robin in this process, with the
    feature pass of MetaLoRA (the first meta method's net) timed alongside as a bound."""
    import torch
    from bench_common import interleaved_medians, steady_allocator

    steady_allocator()
    device = _device(device)
    nets = {m: build(model_name, m, rank, size, device) for m in methods}
    fns = {m: _stepper(net, params, batch, size, device, dtype) for m, (net, params) in nets.items()}
    meta = [m for m in methods if m.startswith("meta-") and not _split(m)[1]]
    if meta:
        fns[FEATURE_PASS] = _feature_pass(nets[meta[0]][0], batch, size, device, dtype)
    ms = interleaved_medians(fns, device, repeats=steps, warmup=2)
    rows = {m: {"step_s": ms[m] / 1e3, "trainable": sum(p.numel() for p in nets[m][1])} for m in methods}
    if meta:
        rows[FEATURE_PASS] = {"step_s": ms[FEATURE_PASS] / 1e3, "trainable": 0}
    if device.type == "cuda":
        for m in nets:
            torch.cuda.reset_peak_memory_stats(device)
            fns[m]()
            torch.cuda.synchronize(device)
            rows[m]["peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    contractions = {}
    for m, (net, _) in nets.items():
        if hasattr(net, "layer_table"):
            chosen = [r["contraction"] for r in net.layer_table() if r["contraction"]]
            contractions[m] = {p: chosen.count(p) for p in sorted(set(chosen))}
    for m in contractions:
        rows[m]["contractions"] = contractions[m]
    return rows


def time_inference(model_name: str, methods, batch: int, rank: int, steps: int, size: int, device, dtype):
    """Median forward seconds (no gradients) of every method of one model, round-robin in this process."""
    from bench_common import interleaved_medians, steady_allocator

    steady_allocator()
    device = _device(device)
    nets = {m: build(model_name, m, rank, size, device)[0] for m in methods}
    fns = {m: _forward(net, batch, size, device, dtype) for m, net in nets.items()}
    meta = [m for m in methods if m.startswith("meta-") and not _split(m)[1]]
    if meta:  # the net is in eval mode already (_forward)
        fns[FEATURE_PASS] = _feature_pass(nets[meta[0]], batch, size, device, dtype)
    ms = interleaved_medians(fns, device, repeats=steps, warmup=2)
    rows = {m: {"forward_s": ms[m] / 1e3} for m in fns}
    for m, net in nets.items():
        if hasattr(net, "layer_table"):
            chosen = [r["contraction_inference"] for r in net.layer_table() if r["contraction_inference"]]
            rows[m]["contractions"] = {p: chosen.count(p) for p in sorted(set(chosen))}
    return rows


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


def run_all(
    rank: int, steps: int, size: int, methods, cases, device: str = "cpu", dtype: str = "fp32"
) -> list[dict]:
    rows = []
    for model_name, batch in cases.items():
        args = (model_name, ",".join(methods), str(batch), str(rank), str(steps), str(size), device, dtype)
        times = _child("time", *args)
        for method in [*methods, FEATURE_PASS]:
            if method not in times:
                continue
            if "peak_mib" not in times[method] and method != FEATURE_PASS:  # the CPU: a fresh process each
                mem = _child("memory", model_name, method, str(batch), str(rank), str(size))
                times[method]["peak_mib"] = mem["peak_mib"]
            row = {"model": model_name, "batch": batch, "method": method, **times[method]}
            rows.append(row)
            print(f"{model_name:28s} {method:14s} {row['step_s']:.3f} s  {row.get('peak_mib', 0):.0f} MiB "
                  f"{row.get('contractions', '')}", flush=True)  # fmt: skip
    return rows


def run_inference(rank: int, steps: int, size: int, methods, cases, device: str, dtype: str) -> list[dict]:
    rows = []
    for model_name, batch in cases.items():
        times = _child("infer", model_name, ",".join(methods), str(batch), str(rank), str(steps), str(size),
                       device, dtype)  # fmt: skip
        for method in [*methods, FEATURE_PASS]:
            if method not in times:
                continue
            rows.append({"model": model_name, "batch": batch, "method": method, **times[method]})
            print(f"{model_name:28s} {method:10s} {times[method]['forward_s']:.4f} s "
                  f"{times[method].get('contractions', '')}", flush=True)  # fmt: skip
    return rows


def _caption(kind: str, rank: int, size: int, device: str, dtype: str) -> str:
    import torch
    from bench_common import device_name

    where = (
        (f"{device} under {dtype} autocast" if DTYPES[dtype] else device)
        + f" ({device_name(torch.device(device))}, torch {torch.__version__}, {torch.get_num_threads()} threads)"
    )
    return (
        f"{kind} on real backbones at {size}x{size}, rank {rank}, random initialisation; {where}; each adapted "
        "layer runs the contraction the planner timed fastest (counts in the last column); median of the timed "
        "steps, all methods of a model timed round-robin in one process"
    )


def _counts(row: dict) -> str:
    return ", ".join(f"{p} {n}" for p, n in row.get("contractions", {}).items()) or "–"


def table(rows: list[dict], rank: int, size: int, device: str = "cpu", dtype: str = "fp32") -> str:
    memory = (
        "peak CUDA memory allocated"
        if device.startswith("cuda")
        else "peak resident memory of a fresh process per method"
    )
    flags = "" if device == "cpu" and dtype == "fp32" else f" --device {device} --dtype {dtype}"
    flags += "" if rank == 8 else f" --rank {rank}"
    lines = [
        _caption(
            "Training step (a new 10-class head trained in full by every method)", rank, size, device, dtype
        )
        + f"; {memory}; from `python benchmarks/bench_zoo.py{flags} --write-results docs/results.md`.",
        "",
        "| model | batch | method | trainable | step s | ÷ PEFT LoRA | peak MiB | ÷ PEFT LoRA | contractions |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for model_name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model_name]
        peft = next(r for r in mine if r["method"] == "peft-lora")
        for r in mine:
            if r["method"] == FEATURE_PASS:
                lines.append(
                    f"| {model_name} | {r['batch']} | {label(r['method'])} | – | {r['step_s']:.3f} | "
                    f"{r['step_s'] / peft['step_s']:.2f} | – | – | – |"
                )
                continue
            lines.append(
                f"| {model_name} | {r['batch']} | {label(r['method'])} | {r['trainable']:,} | {r['step_s']:.3f} | "
                f"{r['step_s'] / peft['step_s']:.2f} | {r['peak_mib']:.0f} | {r['peak_mib'] / peft['peak_mib']:.2f} "
                f"| {_counts(r)} |"
            )
    return "\n".join(lines)


def inference_table(rows: list[dict], rank: int, size: int, device: str = "cpu", dtype: str = "fp32") -> str:
    flags = "" if device == "cpu" and dtype == "fp32" else f" --device {device} --dtype {dtype}"
    flags += "" if rank == 8 else f" --rank {rank}"
    lines = [
        _caption("Inference forward (no gradients) of depthwise nets", rank, size, device, dtype)
        + f"; from `python benchmarks/bench_zoo.py --inference{flags} --write-results docs/results.md`. "
        "Target: MetaLoRA-TR ≤ 2× the frozen base.",
        "",
        "| model | batch | method | forward s | ÷ frozen base | contractions |",
        "|---|---:|---|---:|---:|---|",
    ]
    for model_name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model_name]
        frozen = next(r for r in mine if r["method"] == "frozen")
        for r in mine:
            lines.append(
                f"| {model_name} | {r['batch']} | {label(r['method'])} | {r['forward_s']:.4f} | "
                f"{r['forward_s'] / frozen['forward_s']:.2f} | {_counts(r)} |"
            )
    return "\n".join(lines)


def block_name(inference: bool, device: str, dtype: str, rank: int = 8) -> str:
    """The results block of a run: ``bench_zoo``, with ``_inference``, the device and dtype when not CPU fp32,
    and the rank when not 8 (``bench_zoo_r4``)."""
    name = BLOCK + ("_inference" if inference else "")
    name = name if device == "cpu" and dtype == "fp32" else f"{name}_{device.split(':')[0]}_{dtype}"
    return name if rank == 8 else f"{name}_r{rank}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="timed steps after two warm-up steps")
    parser.add_argument("--size", type=int, default=224, help="image side")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    parser.add_argument("--dtype", default="fp32", choices=sorted(DTYPES), help="bf16: under bf16 autocast")
    parser.add_argument(
        "--inference", action="store_true", help="forward passes of the depthwise nets instead"
    )
    parser.add_argument("--models", help="comma-separated zoo names instead of the default cases")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the script runs")
    parser.add_argument("--write-results", type=Path, help="markdown file whose bench_zoo block is replaced")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, model_name, *rest = args.child
        if kind in ("time", "infer"):
            methods, batch, rank, steps, size, device, dtype = rest
            fn = time_model if kind == "time" else time_inference
            result = fn(
                model_name, methods.split(","), int(batch), int(rank), int(steps), int(size), device, dtype
            )
        else:
            method, batch, rank, size = rest
            result = {"peak_mib": peak_memory(model_name, method, int(batch), int(rank), int(size))}
        print(json.dumps(result))
        return 0
    device = str(_device(args.device)) if args.device == "auto" else args.device
    cases = INFERENCE_CASES if args.inference else CASES
    methods = INFERENCE_METHODS if args.inference else METHODS
    if args.models:
        batch = next(iter(cases.values()))
        cases = {m: batch for m in args.models.split(",")}
    if args.quick:
        args.size, args.steps, args.rank = 32, 2, 2
        cases = {next(iter(cases)): 2}
        methods = ("frozen", "meta-tr") if args.inference else ("peft-lora", "meta-tr", PEFT_SQUARED)
    if args.inference:
        rows = run_inference(args.rank, args.steps, args.size, methods, cases, device, args.dtype)
        text = inference_table(rows, args.rank, args.size, device, args.dtype)
    else:
        rows = run_all(args.rank, args.steps, args.size, methods, cases, device, args.dtype)
        text = table(rows, args.rank, args.size, device, args.dtype)
    print(text)
    if args.write_results:
        from bench_common import write_block

        rank = 8 if args.quick else args.rank  # a quick run (rank 2) checks the script: the default block
        write_block(args.write_results, block_name(args.inference, device, args.dtype, rank), text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
