"""One training run end to end, and comparisons of methods over seeds.

:func:`train_run` builds the backbone, prepares the method, trains it with
:func:`~metalora.training.loop.fit` (on every rank under ``torchrun``), measures it (accuracy overall /
per domain / per class, parameters, FLOPs, time, memory), saves what it trained into a run folder that
appears atomically, and records the run in a
:class:`~metalora.training.registry.RunRegistry`. :func:`compare` repeats that over methods x seeds and
aggregates (mean, std, n; never best-of).
"""

from __future__ import annotations

import copy
import json
import os
import platform
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..data import DEFAULT_DEMO_DOMAINS, DataSplits, load_builtin
from ..errors import CancelledError, ConfigError, ModelError, TrainingError, bullet_list
from ..models import build_model, list_architectures, list_sample_models, load_checkpoint, load_sample_model
from . import distributed
from .loop import Progress, TrainConfig, fit
from .methods import (
    ADAPTER_METHODS,
    ALL_METHODS,
    check_method,
    count_trainable,
    match_ranks,
    prepare,
    save_trained,
)
from .registry import RunRegistry, now_iso

__all__ = [
    "DEMO_DATA",
    "DEMO_METHOD",
    "DEMO_MODEL",
    "DEMO_RANK",
    "DEMO_TRAIN_CONFIG",
    "ComparisonResult",
    "DataSpec",
    "RunProgress",
    "RunResult",
    "aggregate",
    "compare",
    "count_flops",
    "resolve_model",
    "train_run",
]

RUN_CONFIG = "run.json"


@dataclass(frozen=True)
class DataSpec:
    """Enough to rebuild a built-in data set exactly (see :func:`~metalora.data.load_builtin`)."""

    name: str = "digits"
    domains: tuple[str, ...] = DEFAULT_DEMO_DOMAINS
    image_size: int = 32
    seed: int = 0
    severity: float = 1.0
    samples_per_class: int | None = None

    def __post_init__(self) -> None:
        domains = self.domains.split(",") if isinstance(self.domains, str) else self.domains
        object.__setattr__(self, "domains", tuple(d.strip() for d in domains if d.strip()))

    def load(self) -> DataSplits:
        """The train / val / test splits (cached: the same spec returns the same arrays)."""
        return _load_cached(self)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "domains": list(self.domains)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DataSpec:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if isinstance(known.get("domains"), list):
            known["domains"] = tuple(known["domains"])
        return cls(**known)


@lru_cache(maxsize=4)
def _load_cached(spec: DataSpec) -> DataSplits:
    return load_builtin(
        spec.name,
        image_size=spec.image_size,
        domains=spec.domains,
        severity=spec.severity,
        seed=spec.seed,
        samples_per_class=spec.samples_per_class,
    )


# Defaults of the dashboard's demo: the small ResNet sample model on 4-domain digits, MetaLoRA (TR).
# Chosen so that the run takes under 20 s on 2 idle CPU cores (benchmarks/bench_training.py). Copy the
# config with dataclasses.replace(DEMO_TRAIN_CONFIG, ...) before changing a field: it is shared.
DEMO_MODEL = "sample:resnet-mini-digits"
DEMO_DATA = DataSpec()
DEMO_METHOD = "meta-tr"
DEMO_RANK = 4
DEMO_TRAIN_CONFIG = TrainConfig(epochs=3, lr=2e-2, batch_size=64, seed=0)


@dataclass
class RunResult:
    """What :func:`train_run` measured. ``model`` is the trained model (kept in memory only)."""

    id: int | None
    status: str
    method: str
    rank: int | None
    seed: int
    model_name: str
    data: DataSpec | None
    metrics: dict[str, Any]
    trainable_params: int
    total_params: int
    flops: int
    train_time_s: float
    peak_memory_bytes: int
    device: str
    versions: dict[str, str]
    adapter_path: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    model: nn.Module | None = field(default=None, repr=False)

    @property
    def accuracy(self) -> float:
        """Test accuracy (validation when there is no test split)."""
        m = self.metrics.get("test") or self.metrics.get("val") or {}
        return float(m.get("accuracy", float("nan")))

    @property
    def per_domain(self) -> dict[str, float]:
        return dict((self.metrics.get("test") or {}).get("per_domain", {}))


def library_versions() -> dict[str, str]:
    import safetensors
    import sklearn

    return {
        "metalora": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def resolve_model(model: str | nn.Module, splits: DataSplits) -> tuple[nn.Module, str]:
    """``(fresh base module, its name)`` from a module (deep-copied) or a name.

    Names: ``"sample:NAME"`` (a shipped sample model), ``"arch:NAME"`` (a registered architecture, built for
    the data's channels and classes with a fixed initialisation seed 0, so every run starts from the same
    base), a checkpoint path (``.safetensors`` with its ``.json`` card), or a bare sample / architecture name.
    """
    if isinstance(model, nn.Module):
        return copy.deepcopy(model), f"module:{type(model).__name__}"
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"model={model!r} is neither an nn.Module nor a model name.")
    name = model.strip()
    kind, _, rest = name.partition(":")
    if not rest:
        if name in list_sample_models():
            kind, rest = "sample", name
        elif name in list_architectures():
            kind, rest = "arch", name
        elif Path(name).with_suffix(".json").is_file() or Path(name).is_file():
            kind, rest = "path", name
        else:
            raise ConfigError(
                f"Unknown model {name!r}.",
                f"Use sample:NAME ({bullet_list(list_sample_models()) or 'none installed'}), arch:NAME "
                f"({bullet_list(list_architectures())}) or the path of a checkpoint.",
            )
    if kind == "sample":
        base, _card = load_sample_model(rest)
    elif kind == "arch":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            x = splits.train.x
            base = build_model(rest, in_channels=int(x.shape[1]), num_classes=len(splits.train.class_names))
    elif kind == "path":
        base, _card = load_checkpoint(rest)
    else:
        raise ConfigError(
            f"Unknown model kind {kind!r} in {name!r}.", "Use sample:NAME, arch:NAME or a path."
        )
    return base, f"{kind}:{rest}"


@torch.no_grad()
def count_flops(model: nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward pass on ``x`` as torch's ``FlopCounterMode`` counts them (matrix products and
    convolutions, 2 per multiply-add), in eval mode. A MetaLoRA model's forward includes its feature pass."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def _probe(base: nn.Module, splits: DataSplits, device: torch.device) -> tuple[int, torch.Tensor]:
    """FLOPs of the frozen base per input; also checks early that the base accepts these images."""
    x = torch.as_tensor(splits.train.x[:1]).to(device)  # (1, C, H, W)
    try:
        return count_flops(base, x), x
    except torch.cuda.OutOfMemoryError:  # a RuntimeError too, but not a sign of the wrong model
        raise TrainingError(
            f"Out of memory on {device} while running the model on one image.",
            "Close other jobs using this device, or pick a smaller model, smaller images or another device.",
        ) from None
    except RuntimeError as err:
        raise ModelError(
            f"The model cannot run on these images {tuple(x.shape[1:])}: {str(err).splitlines()[0]}",
            "Pick a model built for this data (channels, image size) or other data.",
        ) from None


def train_run(
    model: str | nn.Module,
    data: DataSpec | DataSplits,
    method: str,
    train_config: TrainConfig | None = None,
    *,
    rank: int | None = 8,
    alpha: float | None = None,
    target_modules: str | Sequence[str] = "all",
    adapter_kwargs: Mapping[str, Any] | None = None,
    registry: RunRegistry | None = None,
    out_dir: str | os.PathLike | None = None,
    callback: Callable[[Progress], None] | None = None,
    cancel_event: threading.Event | None = None,
    model_name: str | None = None,
) -> RunResult:
    """Train ``method`` on ``model`` and ``data``; measure, save and record the run.

    Parameters
    ----------
    model
        A name (see :func:`resolve_model`) or an ``nn.Module`` (deep-copied: the caller's module is untouched).
    data
        A :class:`DataSpec` (recorded, so the run can be rebuilt) or ready :class:`~metalora.data.DataSplits`.
    method, rank, alpha, target_modules, adapter_kwargs
        See :func:`~metalora.training.methods.prepare`. ``rank`` is ignored by ``head`` and ``full``.
    train_config
        :class:`~metalora.training.loop.TrainConfig`; its ``seed`` seeds the new parameters too.
    registry
        Where to record the run (rank 0 only under torchrun). Its ``runs/`` folder receives the run folder
        unless ``out_dir`` is given.
    out_dir
        Parent folder of the run folder. With neither ``registry`` nor ``out_dir`` nothing is written.
    callback, cancel_event
        As in :func:`~metalora.training.loop.fit`. A cancelled run leaves no folder and no registry row.
    model_name
        The name recorded for a module passed as ``model``.

    Raises
    ------
    TrainingError
        Training diverged. The run is recorded with status ``"failed"`` and no folder.
    CancelledError
        ``cancel_event`` was set before the run folder was in place.
    """
    check_method(method)
    config = train_config or TrainConfig()
    info = distributed.from_env()
    device = distributed.setup(info, config.device) if info else torch.device(_pick(config.device))
    main = info is None or info.is_main
    spec = data if isinstance(data, DataSpec) else None
    splits = spec.load() if spec is not None else data
    base, name = resolve_model(model, splits)
    name = model_name or name
    base.to(device).eval()
    flops_base, probe = _probe(base, splits, device)
    rank_used = int(rank or 8) if method in ADAPTER_METHODS else None
    net, params = prepare(
        base,
        method,
        rank=rank_used or 8,
        alpha=alpha,
        target_modules=target_modules,
        seed=config.seed,
        num_classes=len(splits.train.class_names),
        **dict(adapter_kwargs or {}),
    )
    run_config = {
        "model": name,
        "data": spec.to_dict() if spec else {"name": getattr(splits.train, "name", "custom")},
        "method": method,
        "rank": rank_used,
        "alpha": float(2 * rank_used if alpha is None else alpha) if rank_used else None,
        "target_modules": target_modules if isinstance(target_modules, str) else list(target_modules),
        "adapter": getattr(getattr(net, "config", None), "to_dict", dict)(),
        "train": config.as_dict(),
        "world_size": info.world_size if info else 1,
    }
    record: dict[str, Any] = {
        "model": name,
        "dataset": run_config["data"]["name"],
        "domains": list(splits.train.domain_names),
        "method": method,
        "rank": rank_used,
        "seed": int(config.seed),
        "config": run_config,
        "versions": library_versions(),
    }
    try:
        fit_res = fit(
            net, splits, config, device=device, callback=callback, cancel_event=cancel_event, params=params
        )
    except TrainingError as err:
        if registry is not None and main:
            registry.add({**record, "status": "failed", "error": str(err), "metrics": {"error": str(err)}})
        raise
    trainable, total = count_trainable(net)
    metrics = {
        "test": asdict(fit_res.test) if fit_res.test is not None else None,
        "val": asdict(fit_res.val) if fit_res.val is not None else None,
        "history": fit_res.history,
        "best_epoch": fit_res.best_epoch,
        "flops_base": flops_base,
    }
    record.update(
        metrics=metrics,
        accuracy=(fit_res.test or fit_res.val).accuracy,
        trainable_params=trainable,
        total_params=total,
        flops=count_flops(net, probe),
        train_time_s=fit_res.train_time_s,
        peak_memory_bytes=fit_res.peak_memory_bytes,
        device=fit_res.device,
        status="completed",
    )
    folder, run_id = None, None
    parent = Path(out_dir) if out_dir is not None else (registry.runs_dir if registry is not None else None)
    if parent is not None and main:
        folder = _save_folder(net, method, parent, {**record, "config": run_config}, cancel_event)
        record["adapter_path"] = str(folder)
    if registry is not None and main:
        try:
            run_id = registry.add(record)
        except BaseException:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            raise
    return RunResult(
        id=run_id,
        status="completed",
        method=method,
        rank=rank_used,
        seed=int(config.seed),
        model_name=name,
        data=spec,
        metrics=metrics,
        trainable_params=trainable,
        total_params=total,
        flops=record["flops"],
        train_time_s=fit_res.train_time_s,
        peak_memory_bytes=fit_res.peak_memory_bytes,
        device=fit_res.device,
        versions=record["versions"],
        adapter_path=record.get("adapter_path"),
        config=run_config,
        model=net,
    )


def _pick(device: str) -> str:
    from ..device import pick_device

    return str(pick_device(device))


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, default=str), encoding="utf-8")


def _save_folder(
    net: nn.Module, method: str, parent: Path, record: dict, cancel_event: threading.Event | None
) -> Path:
    """Write the run into a temp folder beside its final place, then rename it there in one step."""
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    final = parent / f"{stamp}-{method}-s{record['seed']}-{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=parent))
    try:
        save_trained(net, method, tmp)
        _write_json(tmp / RUN_CONFIG, {**record, "saved": now_iso()})
        if cancel_event is not None and cancel_event.is_set():
            raise CancelledError("Training was cancelled before the run was saved.", "Nothing was written.")
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_run_config(folder: str | os.PathLike) -> dict:
    """The ``run.json`` of a run folder ({} when there is none)."""
    path = Path(folder) / RUN_CONFIG
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


# ----------------------------------------------------------------------------- comparisons
@dataclass
class RunProgress:
    """Progress of a comparison: run ``run`` of ``runs`` (1-based), and that run's :class:`Progress`."""

    run: int
    runs: int
    method: str
    seed: int
    progress: Progress | None = None


@dataclass
class ComparisonResult:
    """``rows``: one dict per run (tidy); ``aggregate``: one dict per method (mean, std, n over seeds)."""

    rows: list[dict[str, Any]]
    aggregate: list[dict[str, Any]]
    ranks: dict[str, int | None]
    counts: dict[str, int] = field(default_factory=dict)
    budget: int | None = None


def compare(
    model: str | nn.Module,
    data: DataSpec | DataSplits,
    methods: Sequence[str],
    seeds: int | Sequence[int] = 3,
    train_config: TrainConfig | None = None,
    *,
    budget: int | None = None,
    ranks: int | Mapping[str, int] | None = None,
    registry: RunRegistry | None = None,
    out_dir: str | os.PathLike | None = None,
    callback: Callable[[RunProgress], None] | None = None,
    cancel_event: threading.Event | None = None,
    **run_kwargs: Any,
) -> ComparisonResult:
    """Train every method with every seed (the training seed; the data stays the same) and aggregate.

    ``budget`` picks each adapter method's rank with :func:`~metalora.training.methods.match_ranks`;
    otherwise ``ranks`` gives one rank for all or one per method (default 8). A run that diverges is kept
    as a ``"failed"`` row and left out of its method's mean (``n_failed`` counts it); a cancel stops all.
    """
    for m in methods:
        check_method(m)
    if not methods:
        raise ConfigError("compare needs at least one method.", f"Choose from {bullet_list(ALL_METHODS)}.")
    seed_list = list(range(int(seeds))) if isinstance(seeds, int | np.integer) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError(f"seeds={seeds!r} gives no seed.", "Use e.g. seeds=3 or seeds=[0, 1, 2].")
    config = train_config or TrainConfig()
    splits = data.load() if isinstance(data, DataSpec) else data
    base, name = resolve_model(model, splits)
    counts: dict[str, int] = {}
    if budget is not None:
        if ranks is not None:
            raise ConfigError("Give either budget= or ranks=, not both.")
        match = match_ranks(lambda: copy.deepcopy(base), methods, int(budget))
        rank_of, counts = dict(match), match.counts
    elif isinstance(ranks, Mapping):
        rank_of = {m: ranks.get(m, 8) for m in methods}
    else:
        rank_of = {m: int(ranks or 8) for m in methods}
    rows: list[dict[str, Any]] = []
    jobs = [(s, m) for s in seed_list for m in methods]
    for i, (seed, method) in enumerate(jobs, start=1):

        def relay(p: Progress, i=i, method=method, seed=seed) -> None:
            if callback is not None:
                callback(RunProgress(i, len(jobs), method, seed, p))

        relay(None)  # type: ignore[arg-type]
        row: dict[str, Any] = {"method": method, "seed": seed, "rank": rank_of.get(method)}
        try:
            res = train_run(
                base, data, method, with_seed(config, seed), rank=rank_of.get(method) or 8,
                registry=registry, out_dir=out_dir, callback=relay, cancel_event=cancel_event,
                model_name=name, **run_kwargs,
            )  # fmt: skip
        except TrainingError as err:
            rows.append({**row, "status": "failed", "error": str(err), "accuracy": float("nan")})
            continue
        test = res.metrics.get("test") or {}
        row.update(
            status="completed", accuracy=res.accuracy, run_id=res.id, trainable_params=res.trainable_params
        )
        row.update(total_params=res.total_params, flops=res.flops, train_time_s=res.train_time_s)
        row.update({f"acc_{d}": a for d, a in (test.get("per_domain") or {}).items()})
        rows.append(row)
    return ComparisonResult(rows, aggregate(rows, methods), rank_of, counts, budget)


def aggregate(rows: Sequence[Mapping[str, Any]], methods: Sequence[str]) -> list[dict[str, Any]]:
    """Per method: mean, sample std (ddof=1; NaN for one run) and n of every numeric column over the
    completed runs; ``n_failed`` counts the rest."""
    out = []
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        ok = [r for r in mine if r.get("status") == "completed"]
        agg: dict[str, Any] = {"method": m, "rank": mine[0]["rank"] if mine else None}
        agg.update(n=len(ok), n_failed=len(mine) - len(ok))
        keys = [k for k in (ok[0] if ok else {}) if k not in ("method", "seed", "rank", "status", "run_id")]
        for k in keys:
            vals = np.array([float(r[k]) for r in ok if isinstance(r.get(k), int | float)], dtype=float)
            agg[f"{k}_mean"] = float(vals.mean()) if len(vals) else float("nan")
            agg[f"{k}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else float("nan")
        out.append(agg)
    return out


def with_seed(config: TrainConfig, seed: int) -> TrainConfig:
    """A copy of ``config`` with another seed."""
    return replace(config, seed=int(seed))
