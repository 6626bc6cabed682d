"""Data at scale: peak memory of a streamed 1-epoch run at N and 10·N images, and the loader's speed.

    python benchmarks/bench_data.py [--n 500] [--image-size 32] [--source-size 64] [--workers N]
                                    [--batch-size 64] [--threads 1] [--tiny] [--in-memory] [--keep DIR]

It writes a synthetic image folder of ``N`` and of ``10·N`` PNGs (``--source-size`` pixels square, ten
classes of coloured blobs on noise), then for each runs, in a fresh subprocess, one epoch of
:func:`metalora.training.fit` of the small ResNet (``resnet-mini``) with a MetaLoRA Tensor-Ring adapter
(``meta-tr`` through :func:`metalora.training.prepare`) on the folder streamed with
``folder:PATH`` (:func:`metalora.data.parse_data_source`), resized to ``--image-size``. Each subprocess
reports:

* its peak resident set size (``ru_maxrss`` of the process, plus the largest DataLoader worker's when
  there are workers): the figure that must not grow with the data set (target: 10·N within 1.3x of N);
* the loader's images/s (one pass over the training split through the DataLoader, no model) against the
  model step's images/s (forward, backward and AdamW update on one batch already in memory, repeated):
  whichever is lower bounds the training speed.

The measured runs use one torch thread by default (``--threads``): on a small shared machine more threads
than free cores make every step many times slower and the timings meaningless, and the figure that matters
here, memory, does not depend on it. The last line states the ratio of the peak RSS values. ``--tiny`` runs on a few dozen 16-pixel images
with a narrow model, to test the script itself. ``--in-memory`` measures the old way instead (every image
decoded into one array by :func:`metalora.data.load_imagefolder`), for contrast.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

TARGET_RATIO = 1.3
CLASSES = 10


def make_folder(root: Path, n: int, size: int, seed: int = 0) -> Path:
    """``n`` PNGs of ``size`` pixels in ``CLASSES`` class folders: a class-coloured disc on noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    palette = rng.uniform(0, 255, (CLASSES, 3))
    for c in range(CLASSES):
        (root / f"class_{c}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        c = i % CLASSES
        (cy, cx), r = rng.uniform(0.3, 0.7, 2) * size, size * rng.uniform(0.15, 0.3)
        img = rng.normal(110, 25, (size, size, 3))
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = palette[c]
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / f"class_{c}" / f"{i:06d}.png")
    return root


def peak_rss_bytes() -> int:
    """Peak RSS of this process plus the largest finished child's (DataLoader workers), in bytes."""
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return int((own + kids) * scale)


def child(args) -> dict:
    """One measured run (in its own process, so that its peak RSS is its own)."""
    import torch
    import torch.nn.functional as F

    from metalora.data import default_num_workers, iterate_batches, parse_data_source
    from metalora.models import build_model
    from metalora.training import TrainConfig, fit, prepare
    from metalora.training.evaluate import chunks

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.in_memory:  # the old way, for contrast: every image decoded into one array
        from metalora.data import load_imagefolder, split_dataset

        splits = split_dataset(load_imagefolder(args.child, image_size=args.image_size), seed=0)
    else:
        splits = parse_data_source(f"folder:{args.child}", image_size=args.image_size, seed=0).load()
    widths = (4, 8) if args.tiny else (16, 32, 64)
    torch.manual_seed(0)
    base = build_model("resnet-mini", in_channels=splits.train.channels, num_classes=CLASSES, widths=widths)
    net, params = prepare(base, "meta-tr", rank=4, seed=0, num_classes=CLASSES)
    config = TrainConfig(
        epochs=1, batch_size=args.batch_size, device="cpu", bf16=False, num_workers=args.workers, seed=0
    )
    t0 = time.perf_counter()
    res = fit(net, splits, config, params=params)
    fit_s = time.perf_counter() - t0

    order = torch.randperm(len(splits.train), generator=torch.Generator().manual_seed(0))
    batches = chunks(order, args.batch_size)
    t0 = time.perf_counter()
    train = splits.train if not args.in_memory else None
    if train is not None:
        seen = sum(len(xb) for xb, _, _ in iterate_batches(train, batches, num_workers=args.workers))
        loader_ips = seen / max(time.perf_counter() - t0, 1e-9)
        xb, yb, _ = next(iterate_batches(train, batches[:1], num_workers=0))
    else:
        loader_ips = float("inf")  # nothing to load: the images are in memory already
        xb, yb = torch.as_tensor(splits.train.x[batches[0]]), torch.as_tensor(splits.train.y[batches[0]])
    opt = torch.optim.AdamW(params, lr=1e-3)
    net.train()
    steps = 3 if args.tiny else 8
    for k in range(steps + 1):  # the first step warms up
        if k == 1:
            t0 = time.perf_counter()
        loss = F.cross_entropy(net(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    step_ips = steps * len(xb) / max(time.perf_counter() - t0, 1e-9)
    return {
        "n": sum(len(s) for s in splits.as_dict().values()),
        "train": len(splits.train),
        "peak_rss_bytes": peak_rss_bytes(),
        "fit_s": fit_s,
        "test_accuracy": res.test.accuracy if res.test else float("nan"),
        "loader_images_per_s": loader_ips,
        "step_images_per_s": step_ips,
        "workers": default_num_workers() if config.num_workers is None else config.num_workers,
    }


def measure(folder: Path, args) -> dict:
    """Run :func:`child` on ``folder`` in a fresh interpreter and return what it reports."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(folder)]
    cmd += ["--image-size", str(args.image_size), "--batch-size", str(args.batch_size)]
    cmd += ["--workers", str(args.workers)] if args.workers is not None else []
    cmd += ["--tiny"] if args.tiny else []
    cmd += ["--threads", str(args.threads)] + (["--in-memory"] if args.in_memory else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"The measured run on {folder} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rss_ratio(small: dict, large: dict) -> float:
    """Peak RSS of the 10·N run over that of the N run."""
    return large["peak_rss_bytes"] / small["peak_rss_bytes"]


def report(small: dict, large: dict) -> list[str]:
    """The printed lines: one per run, the loader against the model step, and (last) the RSS ratio."""
    lines = []
    for r in (small, large):
        lines.append(
            f"{r['n']:>6} images: peak RSS {r['peak_rss_bytes'] / 2**20:8.1f} MiB, 1 epoch {r['fit_s']:6.1f} s, "
            f"loader {r['loader_images_per_s']:7.0f} images/s, model step {r['step_images_per_s']:7.0f} images/s "
            f"({r['workers']} loader workers)"
        )
    lo, st = large["loader_images_per_s"], large["step_images_per_s"]
    lines.append(
        f"loader vs model step at {large['n']} images: {lo:.0f} vs {st:.0f} images/s "
        f"({lo / st:.2f}x): the {'model step' if lo >= st else 'loader'} bounds the training speed"
    )
    ratio = rss_ratio(small, large)
    verdict = "met" if ratio < TARGET_RATIO else "NOT met"
    lines.append(
        f"peak RSS ratio {large['n']} / {small['n']} images: {ratio:.3f} (target < {TARGET_RATIO}: {verdict})"
    )
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=500, help="images of the small folder (the large has 10x)")
    p.add_argument("--image-size", type=int, default=32, help="model input side (default: %(default)s)")
    p.add_argument("--source-size", type=int, default=64, help="side of the PNG files (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: auto)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads of the measured runs, 0 = torch's choice (default: 1)",
    )
    p.add_argument("--tiny", action="store_true", help="a few dozen small images, to test the script")
    p.add_argument(
        "--in-memory", action="store_true", help="for contrast: load the folders in memory (the old way)"
    )
    p.add_argument("--keep", default=None, help="build the folders here and keep them")
    p.add_argument("--write-results", type=Path, help="markdown file whose bench_data block is replaced")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    if args.tiny:
        args.n, args.image_size, args.source_size, args.batch_size = 30, 16, 16, 16
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_data_"))
    try:
        t0 = time.perf_counter()
        folders = [make_folder(base / f"n{n}", n, args.source_size, seed=n) for n in (args.n, 10 * args.n)]
        print(
            f"built {args.n} + {10 * args.n} PNGs of {args.source_size} px in {time.perf_counter() - t0:.1f} s"
        )
        small, large = (measure(f, args) for f in folders)
        lines = report(small, large)
        for line in lines:
            print(line, flush=True)
        if args.write_results:
            from bench_common import write_block

            head = (
                f"Streaming a folder of PNGs ({args.source_size} px, resized to {args.image_size}) through one "
                f"epoch of resnet-mini with a MetaLoRA-TR adapter, batch {args.batch_size}, each size in a fresh "
                "process; from `python benchmarks/bench_data.py --write-results docs/results.md`:"
            )
            write_block(args.write_results, "bench_data", "\n".join([head, "", "```", *lines, "```"]))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
