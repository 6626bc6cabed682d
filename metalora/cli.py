"""The command line: ``metalora train | evaluate | compare | runs {list,show,export,delete}``.

Progress goes to stderr (a bar on a terminal, a line per epoch otherwise); results are printed as a plain
text table on stdout (or JSON with ``--json``). A :class:`~metalora.errors.MetaLoRAError` prints one
line and exits with status 2, without a traceback. Under ``torchrun`` only rank 0 prints and writes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from .errors import MetaLoRAError

EPILOG = """examples:
  metalora train --model sample:resnet-mini-digits --method meta-tr --epochs 2
  metalora compare --model sample:resnet-mini-digits --data digits --domains clean,inverted,rotate90,mirror \\
      --methods lora,meta-cp,meta-tr --seeds 3 --epochs 1
  metalora runs list --method meta-tr
  torchrun --nproc_per_node=2 -m metalora train --model arch:resnet-mini --epochs 1

The run registry lives in $METALORA_HOME (default ~/.metalora), or in --home."""


# ----------------------------------------------------------------------------- output
def fmt(value: Any, kind: str = "") -> str:
    """One table cell: percentages, thousands separators, SI-scaled FLOPs / bytes, seconds."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "int":
        return f"{int(value):,}"
    if kind in ("si", "bytes"):
        v, unit = float(value), ""
        for unit in ("", "k", "M", "G", "T"):  # noqa: B007
            if abs(v) < 1000:
                break
            v /= 1000
        return f"{v:.1f} {unit}{'B' if kind == 'bytes' else ''}".strip()
    if kind == "s":
        return f"{value:.1f} s"
    if kind == "date":
        return str(value)[:19].replace("T", " ")
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A plain text table with columns padded to their widest cell (numbers right-aligned)."""
    cells = [list(map(str, header)), *[list(map(str, r)) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths, strict=True)
        ).rstrip()

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths), *map(line, cells[1:])])


def _numeric(cell: str) -> bool:
    return (bool(cell) and (cell[0].isdigit() or cell[0] in "-+.") and cell != "-") or cell.endswith("%")


class ProgressPrinter:
    """Writes training progress to stderr: a redrawn bar on a terminal, else a line per epoch / 10 s."""

    def __init__(self, stream=None, quiet: bool = False, width: int = 24):
        self.stream = stream or sys.stderr
        self.quiet, self.width = quiet, width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.prefix, self._last = "", 0.0

    def __call__(self, p) -> None:  # p: metalora.training.Progress
        if self.quiet:
            return
        filled = round(p.fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        val = f" val {100 * p.val_acc:.1f}%" if p.val_acc is not None else ""
        text = (
            f"{self.prefix}[{bar}] {100 * p.fraction:3.0f}% epoch {p.epoch}/{p.epochs} step {p.step}/"
            f"{p.steps_per_epoch} loss {p.loss:.3f} acc {100 * p.train_acc:.1f}%{val} eta {p.eta_s:.0f}s"
        )
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + text[:200].ljust(100) + ("\n" if p.fraction >= 1 else ""))
        elif p.epoch_end or now - self._last > 10:
            self.stream.write(text + "\n")
        else:
            return
        self._last = now
        self.stream.flush()

    def note(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(text + "\n")
            self.stream.flush()


# ----------------------------------------------------------------------------- arguments
MODEL_HELP = "sample:NAME, arch:NAME (fresh weights, seed 0) or a checkpoint path"
# (flags, keyword arguments of add_argument); one table per option group
# fmt: off
DATA_OPTIONS = [
    ("--data", dict(default="digits", help="built-in data set: digits or shapes (default: digits)")),
    ("--domains", dict(default="clean,inverted,rotate90,mirror",
                       help="comma-separated domain shifts; each image gets one (default: clean,inverted,rotate90,mirror)")),
    ("--image-size", dict(type=int, default=32, help="image side in pixels (default: 32)")),
    ("--samples-per-class", dict(type=int, default=None, help="images per class before splitting (default: all)")),
    ("--data-seed", dict(type=int, default=0, help="seed of the split and of the shifts (default: 0)")),
    ("--severity", dict(type=float, default=1.0, help="strength of the shifts, in (0, 1] (default: 1)")),
]
TRAIN_OPTIONS = [
    ("--epochs", dict(type=int, default=5, help="passes over the training split (default: 5)")),
    ("--lr", dict(type=float, default=3e-3, help="AdamW learning rate, cosine-decayed to 0 (default: 3e-3)")),
    ("--batch-size", dict(type=int, default=64, help="images per step, over all processes (default: 64)")),
    ("--weight-decay", dict(type=float, default=0.0, help="AdamW weight decay (default: 0)")),
    ("--max-grad-norm", dict(type=float, default=None, help="clip the gradient norm to this (default: off)")),
    ("--device", dict(default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")),
    ("--no-bf16", dict(action="store_true", help="no bfloat16 autocast on CUDA (default: on where supported)")),
]
METHOD_OPTIONS = [
    ("--rank", dict(type=int, default=8, help="adapter rank: CP rank, ring rank or LoRA r (default: 8)")),
    ("--alpha", dict(type=float, default=None, help="update scale; alpha / rank multiplies the update (default: 2 x rank)")),
    ("--target-modules", dict(default="all", help="all, all-conv, all-linear, or a regex of module names (default: all)")),
]
COMMON_OPTIONS = [
    ("--home", dict(default=None, help="registry data folder (default: $METALORA_HOME or ~/.metalora)")),
    ("--json", dict(action="store_true", help="print the result as JSON instead of a table")),
    ("--quiet", dict(action="store_true", help="no progress output on stderr")),
]
# fmt: on


def _add(p, title: str | None, options: list, no_defaults: bool = False) -> None:
    g = p.add_argument_group(title) if title else p
    for flag, kw in options:
        kw = {**kw, "default": None} if no_defaults and "action" not in kw else kw
        g.add_argument(flag, **kw)


def _add_run_options(p, plural: bool) -> None:
    from .config import FEATURE_SOURCES
    from .methods import method_ids

    p.add_argument(
        "--model", default="sample:resnet-mini-digits", help=f"{MODEL_HELP} (default: %(default)s)"
    )
    _add(p, "data", DATA_OPTIONS)
    g = p.add_argument_group("method")
    if plural:
        g.add_argument(
            "--methods", default="lora,meta-cp,meta-tr", help=f"comma list from {', '.join(method_ids())}"
        )
        g.add_argument(
            "--budget", type=int, help="match each adapter method's rank to this many trainable params"
        )
    else:
        g.add_argument(
            "--method", default="meta-tr", help=f"one of {', '.join(method_ids())} (default: meta-tr)"
        )
        g.add_argument(
            "--feature-source", choices=FEATURE_SOURCES, default="backbone",
            help="what the MetaLoRA mapping network reads: the frozen model's pooled features, or cheap "
            "statistics of the input (default: backbone)",
        )  # fmt: skip
    _add(p, None, [(f, kw) for f, kw in METHOD_OPTIONS])
    _add(p, "training", TRAIN_OPTIONS)
    p.add_argument("--no-save", action="store_true", help="write no files and no registry rows")


def build_parser() -> argparse.ArgumentParser:
    """The ``metalora`` argument parser (every option has help text)."""
    parser = argparse.ArgumentParser(
        prog="metalora",
        description="MetaLoRA: train, evaluate and compare input-conditioned low-rank adapters.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")

    def command(parent, name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return parent.add_parser(name, help=summary, description=description)

    p = command(
        sub, "train", "train one method and record the run", "Train a method, save it, record the run."
    )
    _add_run_options(p, plural=False)
    p.add_argument(
        "--seed", type=int, default=0, help="training seed: initialisation and shuffling (default: 0)"
    )
    _add(p, None, COMMON_OPTIONS)

    p = command(
        sub, "evaluate", "evaluate a saved adapter on a data set",
        "Evaluate a run folder (or a registry run) on a data set; the data options default to the run's own.",
    )  # fmt: skip
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--adapter", help="a run folder (holds run.json and the adapter files)")
    src.add_argument("--run", type=int, help="a run id of the registry")
    p.add_argument("--model", help=f"the base model: {MODEL_HELP} (default: the run's)")
    _add(p, "data", DATA_OPTIONS, no_defaults=True)
    p.add_argument(
        "--split", default="test", choices=("train", "val", "test"), help="which split (default: test)"
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    _add(p, None, COMMON_OPTIONS)

    p = command(
        sub, "compare", "compare methods over seeds", "Train methods x seeds; print mean, std, n per method."
    )
    _add_run_options(p, plural=True)
    p.add_argument(
        "--seeds", default="3", help="a count N (seeds 0..N-1) or a comma list of seeds (default: 3)"
    )
    p.add_argument("--csv", help="also write the tidy per-run table to this CSV file")
    _add(p, None, COMMON_OPTIONS)

    rsub = command(
        sub, "runs", "list, show, export or delete recorded runs", "The run registry."
    ).add_subparsers(dest="runs_command", required=True, metavar="ACTION", help="what to do with the runs")
    p = command(rsub, "list", "list runs, newest first", "List recorded runs, newest first.")
    for name in ("method", "model", "dataset", "status"):
        p.add_argument(f"--{name}", help=f"only runs with this {name}")
    p.add_argument("--limit", type=int, default=50, help="at most this many runs (default: 50)")
    _add(p, None, COMMON_OPTIONS)
    p = command(
        rsub, "show", "show one run in full", "Show one run: settings, metrics per domain and class, costs."
    )
    p.add_argument("id", type=int, help="run id")
    _add(p, None, COMMON_OPTIONS)
    p = command(rsub, "export", "export runs as CSV", "Write every run as one CSV row.")
    p.add_argument("path", help="CSV file to write, or - for stdout")
    _add(p, None, COMMON_OPTIONS)
    p = command(
        rsub,
        "delete",
        "delete runs and their folders",
        "Delete runs: rows and run folders (inside the data folder only).",
    )
    p.add_argument("ids", type=int, nargs="+", help="run ids")
    _add(p, None, COMMON_OPTIONS)
    return parser


# ----------------------------------------------------------------------------- commands
def _data_spec(args, base: dict | None = None):
    from .data import DataSpec

    base = dict(base or {})
    given = {
        "name": args.data,
        "domains": args.domains,
        "image_size": args.image_size,
        "seed": args.data_seed,
        "severity": args.severity,
        "samples_per_class": args.samples_per_class,
    }
    base.update({k: v for k, v in given.items() if v is not None})
    return DataSpec.from_dict(base)


def _train_config(args):
    from .training.loop import TrainConfig

    return TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        weight_decay=args.weight_decay,
        seed=getattr(args, "seed", 0),
        device=args.device,
        bf16=not args.no_bf16,
        max_grad_norm=args.max_grad_norm,
    )


def _registry(args):
    from .training.run_registry import RunRegistry

    return RunRegistry(args.home)


def _is_main() -> bool:
    from .training import distributed

    info = distributed.from_env()
    return info is None or info.is_main


def _summary_rows(r: dict, per_class: bool = False) -> list[list[str]]:
    """Key / value rows of a run (a registry record, or a :class:`RunResult` as a dict)."""
    test = (r.get("metrics") or {}).get("test") or {}
    rows = [
        [k, ", ".join(r[k]) if isinstance(r[k], list) else fmt(r[k])]
        for k in SUMMARY_KEYS
        if r.get(k) is not None
    ]
    rows += [["test accuracy", fmt(test.get("accuracy"), "pct")]]
    rows += [[f"  {d}", fmt(a, "pct")] for d, a in (test.get("per_domain") or {}).items()]
    rows += [[f"  class {c}", fmt(a, "pct")] for c, a in (test.get("per_class") or {}).items() if per_class]
    flops_base = fmt((r.get("metrics") or {}).get("flops_base"), "si")
    return [
        *rows,
        ["trainable / total params", f"{fmt(r.get('trainable_params'), 'int')} / {fmt(r.get('total_params'), 'int')}"],
        ["FLOPs per input", f"{fmt(r.get('flops'), 'si')} (frozen base: {flops_base})"],
        ["training time", fmt(r.get("train_time_s"), "s")],
        ["peak memory", fmt(r.get("peak_memory_bytes"), "bytes")],
        ["device", fmt(r.get("device"))],
        ["saved to", fmt(r.get("adapter_path"))],
    ]  # fmt: skip


SUMMARY_KEYS = ("id", "created", "model", "dataset", "domains", "method", "rank", "seed", "status", "error")


def cmd_train(args, out) -> int:
    from .training.run import train_run

    main = _is_main()
    registry = None if args.no_save or not main else _registry(args)
    res = train_run(
        args.model, _data_spec(args), args.method, _train_config(args), rank=args.rank, alpha=args.alpha,
        target_modules=args.target_modules, registry=registry, callback=ProgressPrinter(quiet=args.quiet or not main),
        adapter_kwargs={"feature_source": args.feature_source} if args.method.startswith("meta-") else None,
    )  # fmt: skip
    if not main:
        return 0
    d = {k: v for k, v in vars(res).items() if k not in ("model", "data", "config")}
    d.update(model=res.model_name, dataset=res.data.name if res.data else None)
    d.update(domains=list(res.data.domains) if res.data else None, config=res.config)
    out.write(
        json.dumps(d, default=str) + "\n" if args.json else table(_summary_rows(d), ["", "value"]) + "\n"
    )
    return 0


def cmd_evaluate(args, out) -> int:
    from .device import pick_device
    from .errors import ConfigError
    from .models import resolve_model
    from .training.loop import evaluate
    from .training.methods import load_trained
    from .training.run_folder import read_run_config

    folder = args.adapter
    if args.run is not None:
        folder = _registry(args).get(args.run).get("adapter_path")
        if not folder:
            raise ConfigError(f"Run {args.run} has no saved adapter (it failed or was not saved).")
    saved = read_run_config(folder).get("config") or {}
    spec = _data_spec(args, saved.get("data"))
    model_name = args.model or saved.get("model")
    if not model_name or model_name.startswith("module:"):
        raise ConfigError(f"The base model of {folder} is not recorded by name.", "Pass it with --model.")
    splits = spec.load()
    base, _ = resolve_model(model_name, splits)
    model = load_trained(base, folder).to(pick_device(args.device))
    res = evaluate(model, getattr(splits, args.split))
    if args.json:
        out.write(json.dumps(vars(res)) + "\n")
        return 0
    rows = [["all", fmt(res.accuracy, "pct"), fmt(res.loss)]] + [
        [d, fmt(a, "pct"), ""] for d, a in res.per_domain.items()
    ]
    out.write(f"{folder}\n{spec.name}, {args.split} split, {res.n} images\n")
    out.write(table(rows, ["domain", "accuracy", "loss"]) + "\n")
    return 0


def cmd_compare(args, out) -> int:
    from .training.compare import compare

    main = _is_main()
    progress = ProgressPrinter(quiet=args.quiet or not main)

    def relay(rp) -> None:
        progress.prefix = f"run {rp.run}/{rp.runs} {rp.method} seed {rp.seed} "
        progress.note(f"{progress.prefix}...") if rp.progress is None else progress(rp.progress)

    seeds = [int(s) for s in args.seeds.split(",")] if "," in args.seeds else int(args.seeds)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    registry = None if args.no_save or not main else _registry(args)
    res = compare(
        args.model, _data_spec(args), methods, seeds, _train_config(args), budget=args.budget,
        ranks=None if args.budget else args.rank, registry=registry, callback=relay,
        alpha=args.alpha, target_modules=args.target_modules,
    )  # fmt: skip
    if not main:
        return 0
    if args.csv:
        _write_rows_csv(args.csv, res.rows)
    if args.json:
        out.write(json.dumps({"rows": res.rows, "aggregate": res.aggregate, "ranks": res.ranks}) + "\n")
        return 0
    first = res.aggregate[0] if res.aggregate else {}
    domains = [k[4:-5] for k in first if k.startswith("acc_") and k.endswith("_mean")]
    rows = [
        [a["method"], fmt(a["rank"]), fmt(a.get("trainable_params_mean"), "int"),
         f"{fmt(a.get('accuracy_mean'), 'pct')} ± {fmt(a.get('accuracy_std'), 'pct')}",
         str(a["n"]) + (f" ({a['n_failed']} failed)" if a["n_failed"] else ""),
         *(fmt(a.get(f"acc_{d}_mean"), "pct") for d in domains),
         fmt(a.get("flops_mean"), "si"), fmt(a.get("train_time_s_mean"), "s")]
        for a in res.aggregate
    ]  # fmt: skip
    header = ["method", "rank", "trainable", "accuracy (mean ± std)", "n", *domains, "FLOPs", "time"]
    out.write(table(rows, header) + "\n")
    return 0


def _write_rows_csv(path: str, rows: list[dict]) -> None:
    import csv

    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


LIST_COLUMNS = [
    ("id", "id", ""), ("created", "created", "date"), ("model", "model", ""), ("dataset", "data", ""),
    ("method", "method", ""), ("rank", "rank", ""), ("seed", "seed", ""), ("accuracy", "accuracy", "pct"),
    ("trainable_params", "trainable", "int"), ("train_time_s", "time", "s"), ("status", "status", ""),
]  # fmt: skip


def cmd_runs(args, out) -> int:
    reg = _registry(args)
    action = args.runs_command
    if action == "list":
        filters = {k: getattr(args, k) for k in ("method", "model", "dataset", "status")}
        runs = reg.list(limit=args.limit, **filters)
        if args.json:
            out.write(json.dumps(runs) + "\n")
            return 0
        rows = [[fmt(r[k], kind) for k, _, kind in LIST_COLUMNS] for r in runs]
        if rows:
            out.write(table(rows, [h for _, h, _ in LIST_COLUMNS]) + "\n")
        out.write(f"{len(runs)} run(s) listed from {reg.db_path}\n")
    elif action == "show":
        r = reg.get(args.id)
        text = json.dumps(r) if args.json else table(_summary_rows(r, per_class=True), ["", "value"])
        out.write(text + "\n")
    elif action == "export":
        n = reg.export_csv(sys.stdout if args.path == "-" else args.path)
        if args.path != "-":
            sys.stderr.write(f"wrote {n} run(s) to {args.path}\n")
    elif action == "delete":
        for run_id in args.ids:
            r = reg.delete(run_id)
            out.write(
                f"deleted run {run_id}"
                + (f" and {r['adapter_path']}" if r.get("adapter_path") else "")
                + "\n"
            )
    return 0


COMMANDS: dict[str, Callable[..., int]] = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "compare": cmd_compare,
    "runs": cmd_runs,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``metalora`` and ``python -m metalora``; returns the exit status."""
    args = build_parser().parse_args(argv)
    from .training import distributed

    ok = False
    try:
        code = COMMANDS[args.command](args, sys.stdout)
        ok = True
        return code
    except MetaLoRAError as err:
        info = distributed.from_env()
        where = f" [rank {info.rank}]" if info else ""
        sys.stderr.write(f"metalora{where}: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("metalora: interrupted; nothing was saved for the unfinished run.\n")
        return 130
    finally:
        distributed.shutdown(wait=ok)
