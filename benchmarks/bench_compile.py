"""Does ``torch.compile`` help? One AdamW training step of the small ResNet, eager against compiled.

    python benchmarks/bench_compile.py [--device cpu|cuda] [--backend inductor] [--steps 10]
                                       [--write-results docs/results.md]

For LoRA and MetaLoRA (CP, Tensor Ring) at rank 8, batch 64 of 1x32x32 digits: the compile time (the
first compiled step), the median step of each, eager and compiled timed round-robin in one process, and
whether the compiled model's outputs equal the eager one's. MetaLoRA's feature pass stops the frozen
backbone with an exception once the head's input is seen, so the compiled graph breaks there (counted).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_common import device_label, interleaved_medians, sync, write_block  # noqa: E402

from metalora.device import pick_device  # noqa: E402
from metalora.methods import method_label  # noqa: E402
from metalora.models import build_model  # noqa: E402
from metalora.training.methods import prepare  # noqa: E402

METHODS = ("lora", "meta-cp", "meta-tr")


def _net(method: str, rank: int, device, adapter: dict):
    torch.manual_seed(0)
    net, params = prepare(
        build_model("resnet-mini", in_channels=1, num_classes=10), method, rank=rank, **adapter
    )
    with torch.no_grad():
        for p in net.parameters():
            if p.requires_grad and p.abs().sum() == 0:
                p.normal_(0, 0.02)  # no zero factor: every gradient is computed
    return net.to(device).train(), params


def measure(methods, rank: int, batch: int, steps: int, device, backend: str, adapter: dict) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 1, 32, 32, generator=g).to(device)
    y = torch.randint(0, 10, (batch,), generator=g).to(device)
    fns, rows = {}, []
    for m in methods:
        net, params = _net(m, rank, device, adapter if m.startswith("meta") else {})
        expected = net(x).detach()
        compiled = torch.compile(net, backend=backend)
        explain = torch._dynamo.explain(net)(x)
        sync(device)
        start = time.perf_counter()
        out = compiled(x)
        F.cross_entropy(out, y).backward()
        sync(device)
        compile_s = time.perf_counter() - start
        same = torch.allclose(out.detach(), expected, rtol=1e-4, atol=1e-5)
        for key, model in (("eager", net), ("compiled", compiled)):
            opt = torch.optim.AdamW(params, lr=1e-4)

            def step(model=model, opt=opt):
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(x), y).backward()
                opt.step()

            fns[(m, key)] = step
        rows.append({"method": m, "compile_s": compile_s, "same": same, "breaks": explain.graph_break_count})
    ms = interleaved_medians(fns, device, steps, warmup=2)
    for row in rows:
        row["eager_ms"], row["compiled_ms"] = ms[(row["method"], "eager")], ms[(row["method"], "compiled")]
    return rows


def table(rows, rank: int, batch: int, device, backend: str, adapter: dict) -> str:
    source = adapter.get("feature_source", "backbone")
    lines = [
        f"One AdamW step of the small ResNet (batch {batch} x 1x32x32), rank {rank}, MetaLoRA's features "
        f"from {'the frozen backbone' if source == 'backbone' else 'input statistics'} "
        f"(feature_source={source!r}), eager against "
        f"`torch.compile(backend='{backend}')`; device {device_label(device)}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; medians, eager and compiled timed round-robin in one process; "
        f"from `python benchmarks/bench_compile.py{'' if source == 'backbone' else ' --feature-source ' + source} "
        "--write-results docs/results.md`.",
        "",
        "| method | eager ms | compiled ms | compiled ÷ eager | first compiled step s | graph breaks | same outputs |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {method_label(r['method'])} | {r['eager_ms']:.1f} | {r['compiled_ms']:.1f} | "
            f"{r['compiled_ms'] / r['eager_ms']:.2f} | {r['compile_s']:.1f} | {r['breaks']} | "
            f"{'yes' if r['same'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="inductor")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--feature-source",
        default="backbone",
        choices=("backbone", "input-stats"),
        help="MetaLoRA's features",
    )
    parser.add_argument("--write-results", type=Path)
    args = parser.parse_args(argv)
    device = pick_device(args.device)
    adapter = {"feature_source": args.feature_source}
    rows = measure(args.methods.split(","), args.rank, args.batch, args.steps, device, args.backend, adapter)
    text = table(rows, args.rank, args.batch, device, args.backend, adapter)
    print(text)
    if args.write_results:
        suffix = "" if args.feature_source == "backbone" else f"_{args.feature_source}"
        write_block(args.write_results, f"bench_compile_{device.type}{suffix}", text)
    return 0 if all(r["same"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
