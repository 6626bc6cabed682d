"""Layer-level speed and memory of every adapter method, as ratios measured in one run.

For representative conv and linear shapes this times the forward and forward+backward of the frozen
base layer, of each adapter method of :mod:`metalora.methods` wrapped around it (at the library's default
rank, 8, unless ``--rank``), and of the naive MetaLoRA
that materialises one kernel per input and runs a grouped conv. Memory is the size of the tensors
autograd saves for the backward pass, each storage counted once (activation memory, exact and
repeatable on any device), plus the CUDA allocator's peak on a GPU. Hugging Face PEFT's LoRA at the same
rank is a peer row and a ratio column when ``peft`` is installed (``pip install -r requirements-bench.txt``).
Rows are named by method id (the naive variants are no registered method); the peer by its label.

    python benchmarks/bench_layers.py                       # print the table
    python benchmarks/bench_layers.py --quick               # a few repeats only (under a minute)
    python benchmarks/bench_layers.py --device cuda         # on a GPU (synchronised; CUDA peak memory)
    python benchmarks/bench_layers.py --write-readme        # also refresh the table in README.md
    python benchmarks/bench_layers.py --write-results F.md  # ... or in any markdown file
    python benchmarks/bench_layers.py --contractions        # each contraction of MetaLoRA convs, per shape
    python benchmarks/bench_layers.py --rank 4 --write-results F.md  # another rank: a block of its own

Timings on Linux run with glibc told to keep freed memory in the process (:func:`bench_common.steady_allocator`): by
default it hands large blocks back to the system and every fresh activation then costs page faults, which
slows whichever layer allocates first by a varying amount (the frozen conv, by up to 1.7x here) and makes the
ratios drift between runs. PyTorch's CPU launcher (``python -m torch.backends.xeon.run_cpu``) offers jemalloc or
tcmalloc for the same reason. ``--system-allocator`` measures without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_common import (  # noqa: E402  (benchmarks/ is on sys.path)
    DEVICE_HELP,
    allocator_label,
    device_label,
    interleaved_medians,
    randomise_factors,
    steady_allocator,
    write_block,
)
from peft_methods import PEFT_LORA, PEFT_SKIPPED, peft_available, peft_lora_layer, register_peft_methods  # noqa: E402

from metalora.adapters import CPConv2d, CPLinear, LoRAConv2d, LoRALinear, TRConv2d, TRLinear  # noqa: E402
from metalora.adapters.contraction import PATHS, candidates, cost_choice  # noqa: E402
from metalora.device import pick_device  # noqa: E402
from metalora.methods import DEFAULT_RANK, default_alpha, get_method, method_ids, method_label  # noqa: E402

LAYERS = {
    "lora": (LoRALinear, LoRAConv2d),
    "cp": (CPLinear, CPConv2d),
    "tr": (TRLinear, TRConv2d),
}  # by format
README_RANK = DEFAULT_RANK  # the README's layer table: the library's default rank
SHAPES = {
    "conv 64→64 3×3, 32×32, batch 64": ("conv", dict(cin=64, cout=64, k=3, hw=32, batch=64)),
    "conv 256→256 3×3, 8×8, batch 64": ("conv", dict(cin=256, cout=256, k=3, hw=8, batch=64)),
    "linear 256→1024 (Mixer MLP), 64 tokens, batch 64": (
        "linear",
        dict(cin=256, cout=1024, tokens=64, batch=64),
    ),
}
TINY_SHAPES = {  # --tiny: the same kinds of layer, small enough for a test
    "conv 8→8 3×3, 8×8, batch 4": ("conv", dict(cin=8, cout=8, k=3, hw=8, batch=4)),
    "linear 16→32, 4 tokens, batch 4": ("linear", dict(cin=16, cout=32, tokens=4, batch=4)),
}


CONTRACTION_SHAPES = {  # (Cin, Cout, input size, stride): the small ResNet's 3×3 convs, then the table's
    "16→16, 32×32": (16, 16, 32, 1),
    "16→32 stride 2, 32×32": (16, 32, 32, 2),
    "32→32, 16×16": (32, 32, 16, 1),
    "32→64 stride 2, 16×16": (32, 64, 16, 2),
    "64→64, 8×8": (64, 64, 8, 1),
    "64→64, 32×32": (64, 64, 32, 1),
    "256→256, 8×8": (256, 256, 8, 1),
}
TINY_CONTRACTION_SHAPES = {"8→8, 8×8": (8, 8, 8, 1), "8→8 stride 2, 8×8": (8, 8, 8, 2)}


class NaiveMetaConv(nn.Module):
    """The reference MetaLoRA conv: build W0 + ΔW(x_i) for every input, then one grouped conv."""

    def __init__(self, adapter: nn.Module):
        super().__init__()
        self.adapter = adapter

    def forward(self, x):
        base = self.adapter.base_layer
        w = base.weight + self.adapter.delta_weight(self.adapter.input_scaling)  # (B, Cout, Cin, kh, kw)
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


DTYPE = torch.float32  # --dtype bf16: every layer, input and scaling factor in bfloat16


def _dtype_note() -> str:
    return "" if DTYPE is torch.float32 else f", {str(DTYPE).removeprefix('torch.')}"


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
    if method == PEFT_LORA:
        layer = peft_lora_layer(base, rank)
        randomise_factors(layer, "lora_")
    elif method is not None:
        entry = get_method(method.removeprefix("naive-"))
        lin, conv = LAYERS[entry.tensor_format]
        meta = entry.input_conditioned
        layer = (conv if kind == "conv" else lin)(
            base, rank=rank, alpha=default_alpha(rank), input_conditioned=meta
        )
        randomise_factors(layer)
        if meta:
            layer.input_scaling = 1 + 0.1 * torch.randn(spec["batch"], rank)
        if method.startswith("naive-"):
            layer = NaiveMetaConv(layer)
    layer.to(device, DTYPE)
    if getattr(layer, "input_scaling", None) is not None:
        layer.input_scaling = layer.input_scaling.to(device, DTYPE)
    if isinstance(layer, NaiveMetaConv):
        layer.adapter.input_scaling = layer.adapter.input_scaling.to(device, DTYPE)
    return layer, x.to(device, DTYPE)


def saved_bytes(layer, x) -> int:
    """Bytes of the distinct storages autograd keeps for the backward pass: a view or a broadcast
    (``expand``) of a tensor costs nothing beyond the tensor itself, so each storage counts once."""
    storages: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(x).sum()
    return sum(storages.values())


def measure_all(kind, spec, methods, rank, device, repeats, warmup: int = 2) -> dict:
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
    for (m, key), ms in interleaved_medians(fns, device, repeats, warmup).items():
        rows[m][key] = ms
    return rows


def contractions(
    ranks,
    repeats: int,
    device,
    shapes: dict = CONTRACTION_SHAPES,
    warmup: int = 2,
    allocator: str = "the system's default",
) -> str:
    """Forward+backward of MetaLoRA-TR and MetaLoRA-CP 3×3 convs (batch 64) with each of their exact
    contractions (:mod:`metalora.adapters.contraction`), the one the cost model picks, and its time ÷ the
    fastest (what the timed planner, the default, picks by construction)."""
    lines = [
        f"MetaLoRA 3×3 conv, batch 64, forward+backward ms of each contraction; device {device_label(device)}{_dtype_note()}, "
        f"median of {repeats}, CPU allocator: {allocator}. The default planner times them and keeps the "
        "fastest; the cost model (timing off) picks the one named.",
        "",
        "| method | shape | rank | " + " | ".join(PATHS) + " | cost model picks | its time ÷ the fastest |",
        "|---|---|---:|" + "---:|" * len(PATHS) + "---|---:|",
    ]
    for method in ("meta-tr", "meta-cp"):
        cls = LAYERS[get_method(method).tensor_format][1]
        for label, (cin, cout, size, stride) in shapes.items():
            for rank in ranks:
                torch.manual_seed(0)
                base = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False).requires_grad_(False)
                layer = cls(base, rank=rank, alpha=default_alpha(rank), input_conditioned=True)
                randomise_factors(layer)
                layer.to(device, DTYPE)
                layer.input_scaling = 1 + 0.1 * torch.randn(64, rank, device=device, dtype=DTYPE)
                x = torch.randn(64, cin, size, size, device=device, dtype=DTYPE, requires_grad=True)
                allowed = candidates(layer, x, 64)
                picked = cost_choice(layer, x, 64, train=True)

                def fwd_bwd(path, layer=layer, x=x):
                    layer.contraction = path
                    y = layer(x)
                    y.backward(torch.ones_like(y))

                fns = {path: (lambda path=path: fwd_bwd(path)) for path in allowed}
                ms = interleaved_medians(fns, device, repeats, warmup)
                cells = " | ".join(f"{ms[p]:.2f}" if p in ms else "–" for p in PATHS)
                lines.append(
                    f"| {method_label(method)} | {label} | {rank} | {cells} | {picked} "
                    f"| {ms[picked] / min(ms.values()):.2f} |"
                )
    return "\n".join(lines)


def run(
    rank: int,
    repeats: int,
    device,
    shapes: dict = SHAPES,
    with_peft: bool = True,
    warmup: int = 2,
    allocator: str = "the system's default",
) -> str:
    cuda = device.type == "cuda"
    meta = method_ids(adapter=True, input_conditioned=True)
    bounds = []
    lines = [
        f"Device: {device_label(device)}{_dtype_note()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"rank {rank}, median of {repeats}, CPU allocator: {allocator}.",
        "",
        "| shape | method | forward ms | ×base | fwd+bwd ms | ×LoRA | ÷ PEFT LoRA | ×naive | saved for backward MiB |"
        + (" CUDA peak MiB |" if cuda else ""),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if cuda else ""),
    ]
    for label, (kind, spec) in shapes.items():
        ours = method_ids(adapter=True)  # lora first: the peer row follows it
        methods = [None, ours[0], *([PEFT_LORA] if with_peft else []), *ours[1:]]
        if kind == "conv":
            methods += [f"naive-{m}" for m in meta]
        rows = measure_all(kind, spec, methods, rank, device, repeats, warmup)
        for m, r in rows.items():
            naive, peft = rows.get(f"naive-{m}"), rows.get(PEFT_LORA)
            name = {None: "frozen base", PEFT_LORA: method_label(PEFT_LORA)}.get(m, m)
            lines.append(
                f"| {label} | {name} | {r['fwd_ms']:.2f} | {r['fwd_ms'] / rows[None]['fwd_ms']:.2f} "
                f"| {r['train_ms']:.2f} | {r['train_ms'] / rows['lora']['train_ms']:.2f} "
                f"| {'%.2f' % (r['train_ms'] / peft['train_ms']) if peft else '–'} "
                f"| {'%.2f' % (r['train_ms'] / naive['train_ms']) if naive else '–'} | {r['saved_mib']:.1f} |"
                + (f" {r['peak_mib']:.0f} |" if "peak_mib" in r else "")
            )
        if kind == "conv":
            bound = " and ".join(
                f"{rows[f'naive-{m}']['train_ms'] / rows[None]['train_ms']:.1f}× ({m})" for m in meta
            )
            bounds.append(f"{bound} on {label}")
    lines += [
        "",
        "×base: forward ÷ the frozen layer's forward; ×LoRA, ÷ PEFT LoRA and ×naive: forward+backward ÷ that of "
        "our LoRA, of PEFT's LoRA (same rank) and of the naive per-input-kernel MetaLoRA. "
        "×naive < 1 means faster than materialising per-input kernels (its reciprocal is the speed-up).",
    ]
    if bounds:
        lines += [
            "",
            "Every adapter runs the frozen layer too, so no MetaLoRA layer can train faster than its naive version "
            "by more than the naive version's forward+backward ÷ the frozen layer's: "
            + "; ".join(bounds)
            + ".",
        ]
    if not with_peft:
        lines += ["", PEFT_SKIPPED]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rank",
        type=int,
        default=DEFAULT_RANK,
        help="adapter rank (default: %(default)s, the README's table)",
    )
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per variant (default: 15)")
    parser.add_argument(
        "--quick", action="store_true", help="3 repeats after 1 warm-up: a rough table in under a minute"
    )
    parser.add_argument("--tiny", action="store_true", help="tiny layers only (for tests)")
    parser.add_argument("--device", default="auto", help=f"{DEVICE_HELP} (default: auto)")
    parser.add_argument(
        "--dtype", default="fp32", choices=("fp32", "bf16"), help="bf16: layers and inputs in bfloat16"
    )
    parser.add_argument("--write-readme", action="store_true", help="refresh the table in README.md")
    parser.add_argument(
        "--write-results", type=Path, metavar="PATH", help="refresh the table in this markdown file"
    )
    parser.add_argument(
        "--contractions",
        action="store_true",
        help="instead: time every contraction of MetaLoRA-TR and -CP convs at ranks 4 and 8 on the small "
        "ResNet's conv shapes, against the one picked from the shape",
    )
    parser.add_argument(
        "--system-allocator",
        action="store_true",
        help="time with the system allocator's defaults (by default glibc keeps freed memory; see above)",
    )
    args = parser.parse_args()
    if args.write_readme and (args.contractions or args.rank != README_RANK):
        parser.error(
            f"the README holds the rank-{README_RANK} layer table only; write this one with --write-results"
        )
    register_peft_methods()
    global DTYPE
    DTYPE = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    device = pick_device(args.device)
    repeats = 3 if args.quick else args.repeats
    warmup = 1 if args.quick else 2
    allocator = allocator_label(not args.system_allocator and steady_allocator())
    print(f"bench_layers: device {device_label(device)}, CPU allocator: {allocator}", flush=True)
    if args.contractions:
        shapes = TINY_CONTRACTION_SHAPES if args.tiny else CONTRACTION_SHAPES
        table = contractions((4, 8), repeats, device, shapes, warmup, allocator)
        marker = "bench_contractions"
    else:
        with_peft = peft_available()
        if not with_peft:
            print(PEFT_SKIPPED, file=sys.stderr, flush=True)
        shapes = TINY_SHAPES if args.tiny else SHAPES
        table = run(args.rank, repeats, device, shapes, with_peft, warmup, allocator)
        marker = "bench_layers" if args.rank == README_RANK else f"bench_layers_rank{args.rank}"
    if args.dtype != "fp32" or device.type != "cpu":  # a block of its own per device and dtype
        marker += f"_{device.type}_{args.dtype}"
        if args.write_readme:
            parser.error("the README holds the CPU float32 table; write this one with --write-results")
    print(table)
    paths = ([ROOT / "README.md"] if args.write_readme else []) + (
        [args.write_results] if args.write_results else []
    )
    for path in paths:
        write_block(path, marker, table)


if __name__ == "__main__":
    main()
