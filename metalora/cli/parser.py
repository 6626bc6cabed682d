"""The ``metalora`` argument parser: option tables per group, and one sub-parser per command.

Choices and defaults are read from where they are defined: methods and the default rank from
:mod:`metalora.methods`, the data from :class:`~metalora.data.DataSpec` and the built-in data sets, the
training settings from :class:`~metalora.training.records.TrainConfig`, devices from
:data:`metalora.device.DEVICE_CHOICES`, the default model and method from :mod:`metalora.training.demo`.
"""

from __future__ import annotations

import argparse

from ..config import FEATURE_SOURCES, TARGET_KEYWORDS
from ..data import BUILTIN_DATASETS, DataSpec
from ..device import DEVICE_CHOICES
from ..methods import DEFAULT_RANK, method_ids
from ..training.demo import DEMO_METHOD, DEMO_MODEL
from ..training.records import TrainConfig

__all__ = ["EPILOG", "build_parser", "device_name"]

EPILOG = """examples:
  metalora train --model sample:resnet-mini-digits --method meta-tr --epochs 2
  metalora compare --model sample:resnet-mini-digits --data digits --domains clean,inverted,rotate90,mirror \\
      --methods lora,meta-cp,meta-tr --seeds 3 --epochs 1
  metalora runs list --method meta-tr
  torchrun --nproc_per_node=2 -m metalora train --model arch:resnet-mini --epochs 1

The run registry lives in $METALORA_HOME (default ~/.metalora), or in --home."""
MODEL_HELP = (
    "sample:NAME, arch:NAME (fresh weights, random seed 0), torchvision:NAME or timm:NAME (with --weights, or "
    "random from seed 0; a new head for the data's classes) or a checkpoint path"
)
COMPARED = ("lora", *method_ids(input_conditioned=True))  # compare's default: LoRA against MetaLoRA


def device_name(text: str) -> str:
    """A ``--device`` value: one of :data:`~metalora.device.DEVICE_CHOICES`, or ``cuda:N``."""
    kind, _, index = text.lower().partition(":")
    if kind not in DEVICE_CHOICES or (index and not (kind == "cuda" and index.isdigit())):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; use {DEVICE_HELP}")
    return text.lower()


_DATA, _TRAIN = DataSpec(), TrainConfig()
DEVICE_HELP = f"{', '.join(DEVICE_CHOICES)} or cuda:N"
DEVICE_OPTION = (
    "--device",
    dict(type=device_name, default=_TRAIN.device,
         help=f"{DEVICE_HELP}; auto picks CUDA, then Apple MPS, then the CPU (default: %(default)s)"),
)  # fmt: skip
# (flag, keyword arguments of add_argument); one table per option group
# fmt: off
DATA_OPTIONS = [
    ("--data", dict(default=_DATA.name, help=f"built-in data set ({' or '.join(BUILTIN_DATASETS)}), or images streamed from "
                    "disk: folder:PATH (class folders), cifar:PATH (CIFAR binary batches), npz:PATH (an uncompressed "
                    ".npz, memory-mapped) (default: %(default)s)")),
    ("--augment", dict(action="store_true", help="random crops and flips of the training images (streamed data)")),
    ("--domains", dict(default=",".join(_DATA.domains),
                       help="comma-separated domain shifts; each image gets one (default: %(default)s)")),
    ("--image-size", dict(type=int, default=_DATA.image_size, help="image side in pixels (default: %(default)s)")),
    ("--samples-per-class", dict(type=int, default=_DATA.samples_per_class,
                                 help="images per class before splitting (default: all)")),
    ("--data-seed", dict(type=int, default=_DATA.seed,
                         help="random seed of the split and of the shifts (default: %(default)s)")),
    ("--severity", dict(type=float, default=_DATA.severity, help="strength of the shifts, in (0, 1] (default: %(default)s)")),
]
TRAIN_OPTIONS = [
    ("--epochs", dict(type=int, default=_TRAIN.epochs, help="passes over the training split (default: %(default)s)")),
    ("--lr", dict(type=float, default=_TRAIN.lr, help="AdamW learning rate, cosine-decayed to 0 (default: %(default)s)")),
    ("--batch-size", dict(type=int, default=_TRAIN.batch_size,
                          help="images per step, over all processes (default: %(default)s)")),
    ("--weight-decay", dict(type=float, default=_TRAIN.weight_decay, help="AdamW weight decay (default: %(default)s)")),
    ("--max-grad-norm", dict(type=float, default=_TRAIN.max_grad_norm,
                             help="clip the gradient norm to this (default: off)")),
    DEVICE_OPTION,
    ("--num-workers", dict(type=int, default=_TRAIN.num_workers,
                           help="loader processes for streamed data (default: 0 on 2 cores, else up to 4)")),
    ("--no-bf16", dict(action="store_true", help="no bfloat16 autocast on CUDA (default: on where supported)")),
]
METHOD_OPTIONS = [
    ("--rank", dict(type=int, default=DEFAULT_RANK,
                    help="adapter rank: CP rank, ring rank or LoRA r (default: %(default)s)")),
    ("--alpha", dict(type=float, default=None,
                     help="update scale; alpha / rank multiplies the update (default: 2 x rank)")),
    ("--target-modules", dict(default="all", help=f"{', '.join(TARGET_KEYWORDS)}, or a regex of module names "
                                                  "(default: %(default)s)")),
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


def _add_zoo_options(p) -> None:
    g = p.add_argument_group("torchvision / timm models")
    g.add_argument(
        "--weights",
        help="the model's own weights (.safetensors, or a .pt state dict read weights-only; never a pickle)",
    )
    g.add_argument(
        "--model-size", type=int, help="side the model reads images at (default: its own, 224 for most)"
    )


def _add_run_options(p, plural: bool) -> None:
    """What ``train`` and ``compare`` share: model, data, method(s), training."""
    p.add_argument("--model", default=DEMO_MODEL, help=f"{MODEL_HELP} (default: %(default)s)")
    _add_zoo_options(p)
    _add(p, "data", DATA_OPTIONS)
    g = p.add_argument_group("method")
    ids = ", ".join(method_ids())
    if plural:
        g.add_argument(
            "--methods", default=",".join(COMPARED), help=f"comma list from {ids} (default: %(default)s)"
        )
        g.add_argument(
            "--budget", type=int, help="match each adapter method's rank to this many trainable params"
        )
    else:
        g.add_argument("--method", default=DEMO_METHOD, help=f"one of {ids} (default: %(default)s)")
        g.add_argument(
            "--feature-source", choices=FEATURE_SOURCES, default=FEATURE_SOURCES[0],
            help="what the MetaLoRA mapping network reads: the frozen model's pooled features, or cheap "
            "statistics of the input (default: %(default)s)",
        )  # fmt: skip
    _add(p, None, METHOD_OPTIONS)
    _add(p, "training", TRAIN_OPTIONS)
    p.add_argument("--no-save", action="store_true", help="write no files and no registry rows")


def _command(parent, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    return parent.add_parser(name, help=summary, description=description)


def _add_runs_commands(sub) -> None:
    """``runs list | show | export | delete``."""
    rsub = _command(
        sub, "runs", "list, show, export, delete or prune recorded runs", "The run registry."
    ).add_subparsers(dest="runs_command", required=True, metavar="ACTION", help="what to do with the runs")
    p = _command(rsub, "list", "list runs, newest first", "List recorded runs, newest first.")
    for name in ("method", "model", "dataset", "status"):
        p.add_argument(f"--{name}", help=f"only runs with this {name}")
    p.add_argument("--limit", type=int, default=50, help="at most this many runs (default: %(default)s)")
    _add(p, None, COMMON_OPTIONS)
    p = _command(
        rsub, "show", "show one run in full", "Show one run: settings, metrics per domain and class, costs."
    )
    p.add_argument("id", type=int, help="run id")
    _add(p, None, COMMON_OPTIONS)
    p = _command(rsub, "export", "export runs as CSV", "Write every run as one CSV row.")
    p.add_argument("path", help="CSV file to write, or - for stdout")
    _add(p, None, COMMON_OPTIONS)
    p = _command(
        rsub,
        "delete",
        "delete runs and their folders",
        "Delete runs: rows and run folders (inside the data folder only).",
    )
    p.add_argument("ids", type=int, nargs="+", help="run ids")
    _add(p, None, COMMON_OPTIONS)
    p = _command(rsub, "du", "space used by the registry and run folders", "Show the disk space runs use.")
    _add(p, None, COMMON_OPTIONS)
    p = _command(
        rsub,
        "prune",
        "delete old runs (older than, keep the last N)",
        "Delete runs older than --older-than days and/or all but the newest --keep-last; asks first.",
    )
    p.add_argument("--older-than", type=float, metavar="DAYS", help="delete runs created more than DAYS ago")
    p.add_argument("--keep-last", type=int, metavar="N", help="keep only the newest N runs")
    p.add_argument("--yes", action="store_true", help="delete without asking")
    _add(p, None, COMMON_OPTIONS)


def build_parser() -> argparse.ArgumentParser:
    """The ``metalora`` argument parser (every option has help text)."""
    parser = argparse.ArgumentParser(
        prog="metalora",
        description="MetaLoRA: train, evaluate and compare input-conditioned low-rank adapters.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")

    p = _command(
        sub, "train", "train one method and record the run", "Train a method, save it, record the run."
    )
    _add_run_options(p, plural=False)
    p.add_argument(
        "--seed", type=int, default=_TRAIN.seed,
        help="random seed of the training: initialisation and shuffling (default: %(default)s)",
    )  # fmt: skip
    _add(p, None, COMMON_OPTIONS)

    p = _command(
        sub, "evaluate", "evaluate a saved adapter on a data set",
        "Evaluate a run folder (or a registry run) on a data set; the data options default to the run's own.",
    )  # fmt: skip
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--adapter", help="a run folder (holds run.json and the adapter files)")
    src.add_argument("--run", type=int, help="a run id of the registry")
    p.add_argument("--model", help=f"the base model: {MODEL_HELP} (default: the run's)")
    _add_zoo_options(p)
    _add(p, "data", DATA_OPTIONS, no_defaults=True)
    p.add_argument(
        "--split", default="test", choices=("train", "val", "test"), help="which split (default: %(default)s)"
    )
    _add(p, None, [DEVICE_OPTION])
    _add(p, None, COMMON_OPTIONS)

    p = _command(
        sub, "compare", "compare methods over seeds", "Train methods x seeds; print mean, std, n per method."
    )
    _add_run_options(p, plural=True)
    p.add_argument(
        "--seeds",
        default="3",
        help="a count N (seeds 0..N-1) or a comma list of random seeds (default: %(default)s)",
    )
    p.add_argument("--csv", help="also write the tidy per-run table to this CSV file")
    _add(p, None, COMMON_OPTIONS)
    _add_runs_commands(sub)
    return parser
