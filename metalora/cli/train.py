"""``metalora train | evaluate | compare``: training and evaluating from the command line.

Each command turns its flags into the library's records (:class:`~metalora.data.DataSpec`,
:class:`~metalora.training.records.TrainConfig`) and calls the library (:func:`~metalora.training.run.train_run`,
:func:`~metalora.training.compare.compare`), which also checks that the model fits the data. Under
``torchrun`` every process trains; only the first (index 0) prints and writes.
"""

from __future__ import annotations

import csv
import json

from ..methods import get_method
from .output import ProgressPrinter, fmt, summary_rows, table
from .runs import open_registry

__all__ = ["cmd_compare", "cmd_evaluate", "cmd_train"]


def _data_spec(args, base: dict | None = None):
    """The data flags over ``base`` (a saved run's data): a :class:`~metalora.data.DataSpec` for a built-in
    set, a :class:`~metalora.data.StreamSpec` for ``folder:`` / ``cifar:`` / ``npz:`` sources."""
    from ..data import DataSpec, StreamSpec, is_stream_source, parse_data_source

    base = dict(base or {})
    if args.data is not None and is_stream_source(args.data):
        return parse_data_source(
            args.data, image_size=args.image_size, seed=args.data_seed or 0, augment=bool(args.augment)
        )
    if args.data is None and base.get("source"):
        return StreamSpec.from_dict(base)
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
    from ..training.records import TrainConfig

    return TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        weight_decay=args.weight_decay,
        seed=getattr(args, "seed", 0),
        device=args.device,
        bf16=not args.no_bf16,
        max_grad_norm=args.max_grad_norm,
        num_workers=args.num_workers,
    )


def _is_main() -> bool:
    from ..training import distributed

    info = distributed.from_env()
    return info is None or info.is_main


def _registry_unless_no_save(args, main: bool):
    return None if args.no_save or not main else open_registry(args)


def _model_options(args, saved: dict | None = None) -> dict:
    """``weights`` / ``image_size`` for a zoo model: the flags, else what the run recorded."""
    options = dict((saved or {}).get("model_options") or {})
    if getattr(args, "weights", None):
        options["weights"] = args.weights
    if getattr(args, "model_size", None):
        options["image_size"] = args.model_size
    return options


def cmd_train(args, out) -> int:
    """Train one method, save it and record the run; print its summary."""
    from ..training.run import train_run

    main = _is_main()
    conditioned = get_method(args.method).input_conditioned
    res = train_run(
        args.model, _data_spec(args), args.method, _train_config(args), rank=args.rank, alpha=args.alpha,
        target_modules=args.target_modules, registry=_registry_unless_no_save(args, main),
        callback=ProgressPrinter(quiet=args.quiet or not main),
        adapter_kwargs={"feature_source": args.feature_source} if conditioned else None,
        model_options=_model_options(args),
    )  # fmt: skip
    if not main:
        return 0
    d = {k: v for k, v in vars(res).items() if k not in ("model", "data", "config")}
    d.update(model=res.model_name, dataset=res.dataset, domains=list(res.domains), config=res.config)
    out.write(
        json.dumps(d, default=str) + "\n" if args.json else table(summary_rows(d), ["", "value"]) + "\n"
    )
    return 0


def cmd_evaluate(args, out) -> int:
    """Evaluate a run folder (or a registry run) on a data set; print accuracy per domain."""
    from ..device import pick_device
    from ..errors import ConfigError
    from ..models import check_compatible, resolve_model
    from ..training.loop import evaluate
    from ..training.methods import load_trained
    from ..training.run_folder import read_run_config

    folder = args.adapter
    if args.run is not None:
        folder = open_registry(args).get(args.run).get("adapter_path")
        if not folder:
            raise ConfigError(f"Run {args.run} has no saved adapter (it failed or was not saved).")
    saved = read_run_config(folder).get("config") or {}
    spec = _data_spec(args, saved.get("data"))
    model_name = args.model or saved.get("model")
    if not model_name or model_name.startswith("module:"):
        raise ConfigError(f"The base model of {folder} is not recorded by name.", "Pass it with --model.")
    splits = spec.load()
    base, _ = resolve_model(model_name, splits, **_model_options(args, saved if not args.model else None))
    check_compatible(base, splits)  # other data than the run's: the same clear refusal as train
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
    """Train methods x random seeds; print mean, std and n per method."""
    from ..training.compare import compare

    main = _is_main()
    progress = ProgressPrinter(quiet=args.quiet or not main)

    def relay(rp) -> None:
        progress.prefix = f"run {rp.run}/{rp.runs} {rp.method} seed {rp.seed} "
        progress.note(f"{progress.prefix}...") if rp.progress is None else progress(rp.progress)

    seeds = [int(s) for s in args.seeds.split(",")] if "," in args.seeds else int(args.seeds)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    res = compare(
        args.model, _data_spec(args), methods, seeds, _train_config(args), budget=args.budget,
        ranks=None if args.budget else args.rank, registry=_registry_unless_no_save(args, main), callback=relay,
        alpha=args.alpha, target_modules=args.target_modules, model_options=_model_options(args),
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
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
