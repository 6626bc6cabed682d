"""Layer-level speed and memory of every adapter method, as ratios measured in one run.

For representative conv and linear shapes this times the forward and forward+backward of the frozen
base layer, of each adapter method wrapped around it (rank 8 by default), and of the naive MetaLoRA
that materialises one kernel per input and runs a grouped conv. Memory is the size of the tensors
autograd saves for the backward pass (activation memory, exact and repeatable on any device), plus
the CUDA allocator's peak on a GPU.

    python benchmarks/bench_layers.py                 # print the table
    python benchmarks/bench_layers.py --write-readme  # also refresh the table in README.md
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from metalora.adapters import CPConv2d, CPLinear, LoRAConv2d, LoRALinear, TRConv2d, TRLinear
from metalora.device import pick_device

ROOT = Path(__file__).resolve().parents[1]
METHODS = {
    "lora": (LoRALinear, LoRAConv2d, False),
    "cp": (CPLinear, CPConv2d, False),
    "tr": (TRLinear, TRConv2d, False),
    "meta-cp": (CPLinear, CPConv2d, True),
    "meta-tr": (TRLinear, TRConv2d, True),
}
SHAPES = {
    "conv 64→64 3×3, 32×32, batch 64": ("conv", dict(cin=64, cout=64, k=3, hw=32, batch=64)),
    "conv 256→256 3×3, 8×8, batch 64": ("conv", dict(cin=256, cout=256, k=3, hw=8, batch=64)),
    "linear 256→1024 (Mixer MLP), 64 tokens, batch 64": (
        "linear",
        dict(cin=256, cout=1024, tokens=64, batch=64),
    ),
}


class NaiveMetaConv(nn.Module):
    """The reference MetaLoRA conv: build W0 + ΔW(x_i) for every input, then one grouped conv."""

    def __init__(self, adapter: nn.Module):
        super().__init__()
        self.adapter = adapter

    def forward(self, x):
        base = self.adapter.base_layer
        w = base.weight + self.adapter.delta_weight(self.adapter.seed)  # (B, Cout, Cin, kh, kw)
        b, cin, h, wd = x.shape
        y = F.conv2d(
            x.reshape(1, b * cin, h, wd),
            w.reshape(-1, *w.shape[2:]),
            None,
            base.stride,
            base.padding,
            base.dilation,
            groups=b,
        )
        y = y.reshape(b, base.out_channels, *y.shape[2:])
        return y + base.bias[:, None, None] if base.bias is not None else y


def build(kind: str, spec: dict, method: str | None, rank: int, device) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    if kind == "conv":
        base = nn.Conv2d(spec["cin"], spec["cout"], spec["k"], padding=spec["k"] // 2)
        x = torch.randn(spec["batch"], spec["cin"], spec["hw"], spec["hw"])
    else:
        base = nn.Linear(spec["cin"], spec["cout"])
        x = torch.randn(spec["batch"], spec["tokens"], spec["cin"])
    base.requires_grad_(False)
    layer: nn.Module = base
    if method is not None:
        name = method.removeprefix("naive-")
        lin, conv, meta = METHODS[name]
        layer = (conv if kind == "conv" else lin)(base, rank=rank, alpha=2.0 * rank, input_conditioned=meta)
        with torch.no_grad():
            for n, p in layer.named_parameters():
                if n.startswith("adapter_"):
                    p.normal_(0, 0.1)
        if meta:
            layer.seed = 1 + 0.1 * torch.randn(spec["batch"], rank)
        if method.startswith("naive-"):
            layer = NaiveMetaConv(layer)
    layer.to(device)
    if getattr(layer, "seed", None) is not None:
        layer.seed = layer.seed.to(device)
    if isinstance(layer, NaiveMetaConv):
        layer.adapter.seed = layer.adapter.seed.to(device)
    return layer, x.to(device)


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def interleaved_medians(fns: dict, device, repeats: int) -> dict[str, float]:
    """Median milliseconds of each function, timed round-robin so that background load hits all alike."""
    for fn in fns.values():
        for _ in range(2):
            fn()
    sync(device)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[key].append(time.perf_counter() - t0)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def saved_bytes(layer, x) -> int:
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(x).sum()
    return total


def measure_all(kind, spec, methods, rank, device, repeats) -> dict:
    """Forward and forward+backward times, saved activation memory, and CUDA peak, per method."""
    fns, rows = {}, {}
    for m in methods:
        layer, x = build(kind, spec, m, rank, device)
        xg = x.clone().requires_grad_(True)  # as for a layer inside a network: the input needs its gradient

        def fwd(layer=layer, x=x):
            with torch.no_grad():
                layer(x)

        def fwd_bwd(layer=layer, xg=xg):
            layer.zero_grad(set_to_none=True)
            layer(xg).square().mean().backward()

        fns[(m, "fwd_ms")], fns[(m, "train_ms")] = fwd, fwd_bwd
        rows[m] = {"saved_mib": saved_bytes(layer, xg) / 2**20}
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            fwd_bwd()
            rows[m]["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    for (m, key), ms in interleaved_medians(fns, device, repeats).items():
        rows[m][key] = ms
    return rows


def run(rank: int, repeats: int, device) -> str:
    lines = [
        f"Device: {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else platform.processor() or 'cpu'}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, rank {rank}, median of {repeats}.",
        "",
        "| shape | method | forward ms | ×base | fwd+bwd ms | ×LoRA | ×naive | saved for backward MiB |"
        + (" CUDA peak MiB |" if device.type == "cuda" else ""),
        "|---|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if device.type == "cuda" else ""),
    ]
    for label, (kind, spec) in SHAPES.items():
        methods = [None, "lora", "cp", "tr", "meta-cp", "meta-tr"]
        if kind == "conv":
            methods += ["naive-meta-cp", "naive-meta-tr"]
        rows = measure_all(kind, spec, methods, rank, device, repeats)
        for m, r in rows.items():
            naive = rows.get(f"naive-{m}")
            lines.append(
                f"| {label} | {m or 'frozen base'} | {r['fwd_ms']:.2f} | {r['fwd_ms'] / rows[None]['fwd_ms']:.2f} "
                f"| {r['train_ms']:.2f} | {r['train_ms'] / rows['lora']['train_ms']:.2f} "
                f"| {'%.2f' % (r['train_ms'] / naive['train_ms']) if naive else '–'} | {r['saved_mib']:.1f} |"
                + (f" {r['peak_mib']:.0f} |" if "peak_mib" in r else "")
            )
    lines += [
        "",
        "×naive < 1 means faster than materialising per-input kernels (its reciprocal is the speed-up).",
    ]
    return "\n".join(lines)


def write_readme(table: str) -> None:
    path = ROOT / "README.md"
    text = path.read_text()
    block = f"<!-- bench_layers:start -->\n{table}\n<!-- bench_layers:end -->"
    new = re.sub(
        r"<!-- bench_layers:start -->.*?<!-- bench_layers:end -->", lambda _: block, text, flags=re.S
    )
    path.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    table = run(args.rank, args.repeats, pick_device(args.device))
    print(table)
    if args.write_readme:
        write_readme(table)


if __name__ == "__main__":
    main()
