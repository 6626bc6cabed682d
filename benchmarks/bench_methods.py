"""Method comparison a skeptic can check: every method, matched budgets, several seeds, tuned on validation.

    python benchmarks/bench_methods.py                 # the full grid (about 1.5 hours on 2 CPU cores)
    python benchmarks/bench_methods.py --preset quick  # one cell, fewer runs: a sanity check in minutes
    python benchmarks/bench_methods.py --report-only   # rebuild docs/results.md from the saved runs

What runs (preset ``full``):

* **cells**: backbones ``resnet-mini``, ``mixer-mini`` and ``vit-mini`` (the shipped sample models, trained
  on clean data; the ViT, beyond the paper, has no shapes sample, so its shapes cell is skipped) x data ``digits-4`` (the demo's 4-domain mix), ``digits-6`` (a harder 6-domain mix) and
  ``shapes-4`` (the 3-channel built-in set with 4 colour / background domains);
* **methods**: every entry of :mod:`metalora.methods` (head only, full fine-tuning, LoRA, static CP, static
  TR, MetaLoRA-CP, MetaLoRA-TR), and the peer baselines Hugging Face PEFT LoRA and PEFT LoHa, which
  :mod:`peft_methods` registers there so that they train through the same ``train_run`` (optional:
  ``pip install -r requirements-bench.txt``; without PEFT their rows are left out and the report says so);
* **budgets**: the adapter methods' ranks are matched to two trainable-parameter budgets per backbone,
  *small* = LoRA at rank 4 and *large* = LoRA at rank 16 (every adapter targets every Conv2d and Linear);
* **protocol**: the learning rate of every (backbone, method, budget) is picked from a small grid by the
  *validation* accuracy of seed 0 on ``digits-4`` (a best rate at the grid's edge gets one more rate beyond
  it) and reused on the other data sets; the other seeds then run at that rate; the table reports the
  *test* accuracy mean and sample standard deviation over the 3 random seeds (never the best seed);
* **input-conditioning on vs off** at the same tensor format and budget (MetaLoRA-TR vs TR, MetaLoRA-CP vs
  CP) for every cell, read off the main grid;
* **ablations** (:mod:`methods_studies`): on ``resnet-mini`` x ``digits-4``, a rank
  sweep 1..16 of MetaLoRA-TR and LoRA (each rank with its own rate chosen on validation) and 5 more seeds
  of our LoRA and PEFT's LoRA; on ``digits-4`` with both backbones, for both MetaLoRA variants, the feature
  source (frozen backbone vs ``input-stats``), a random initialisation of the scaling factors (they
  differ between inputs from the start) and a smaller mapping network (hidden 16 instead of 64, the freed budget going to
  the rank), and for MetaLoRA-TR and LoRA the scale alpha (1x, 2x, 4x the rank); and every method of ours
  trained 10 epochs instead of 3 (at the main grid's rate, and at a rate re-tuned on validation for that length)
  on ``digits-4`` with both backbones and on ``digits-6`` with ``resnet-mini``.

Every finished run is appended to ``benchmarks/results/methods_runs.jsonl`` (one JSON object per line), so
an interrupted grid resumes where it stopped and the report can be rebuilt without training. The report
goes to ``docs/results.md`` (between ``<!-- bench_methods:start -->`` and ``<!-- bench_methods:end -->``),
the figures to ``docs/results_figures.html`` (one self-contained file), and with ``--write-readme`` the
main table into the README. Runs go ``--workers`` at a time, each on one CPU thread (``--device cpu``), so
training times are single-thread CPU seconds; on a GPU (``--device cuda`` or ``auto``) they run one at a time.

This file is the command line; the pieces: :mod:`methods_grid` (presets, cells, budgets, one job),
:mod:`methods_runs` (running jobs, the runs file, rank matching), :mod:`methods_studies` (the protocol and
the ablations), :mod:`report_methods` (the report).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_common import DEVICE_HELP  # noqa: E402  (benchmarks/ is on sys.path)
from methods_grid import PRESETS, is_ours, lr_grid, preset_methods  # noqa: E402
from methods_runs import load_runs  # noqa: E402
from methods_studies import grid  # noqa: E402
from peft_methods import peft_available, register_peft_methods  # noqa: E402

RUNS_FILE = ROOT / "benchmarks" / "results" / "methods_runs.jsonl"
RESULTS_MD = ROOT / "docs" / "results.md"
FIGURES_HTML = ROOT / "docs" / "results_figures.html"
COMMAND = "python benchmarks/bench_methods.py"


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's flags (every one has help text)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--preset", choices=sorted(PRESETS), default="full", help="how much to run (default: full)"
    )
    p.add_argument("--workers", type=int, default=2, help="parallel runs on CPU, one thread each (default 2)")
    p.add_argument("--device", default="cpu", help=f"{DEVICE_HELP} (default: cpu)")
    p.add_argument(
        "--runs", type=Path, default=None, help=f"the runs file (default {RUNS_FILE.relative_to(ROOT)})"
    )
    p.add_argument("--out", type=Path, default=RESULTS_MD, help="the markdown report to write into")
    p.add_argument("--figures", type=Path, default=FIGURES_HTML, help="the HTML file of the figures")
    p.add_argument(
        "--report-only", action="store_true", help="do not train: rebuild the report from the runs"
    )
    p.add_argument("--write-readme", action="store_true", help="also put the main table into the README")
    p.add_argument("--readme", type=Path, default=ROOT / "README.md", help="the README (default README.md)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run (or resume) the preset's grid, then write the report; returns the exit status."""
    args = build_parser().parse_args(argv)
    from report_methods import write_report

    from metalora.device import pick_device

    register_peft_methods()
    preset = PRESETS[args.preset]
    device = str(pick_device(args.device))
    path = args.runs or (
        RUNS_FILE if args.preset == "full" else RUNS_FILE.with_name(f"methods_{args.preset}.jsonl")
    )
    runs = load_runs(path)
    methods = preset_methods(preset)
    if not peft_available():
        methods = [m for m in methods if is_ours(m)]
        print("PEFT is not installed: the PEFT LoRA / LoHa rows are skipped "
              "(pip install -r requirements-bench.txt to include them).", flush=True)  # fmt: skip
    print(f"bench_methods: preset {args.preset}, device {device}, {args.workers} worker(s), runs in {path}")
    if not args.report_only:
        grid(preset, runs, path, args.workers, device, methods)
    write_report(
        list(runs.values()), preset_name=args.preset, out=args.out, figures=args.figures,
        readme=args.readme if args.write_readme else None, command=COMMAND,
        methods=methods, lr_grids={m: lr_grid(m) for m in methods},
    )  # fmt: skip
    print(f"wrote {args.out} and {args.figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
