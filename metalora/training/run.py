"""One training run end to end: :func:`train_run`.

It resolves the backbone, checks that it fits the data, prepares the method, trains it with
:func:`~metalora.training.loop.fit` (on every process under ``torchrun``), measures it (accuracy overall /
per domain / per class, parameters, FLOPs, time, memory), saves what it trained into a run folder that
appears atomically, and records the run in a :class:`~metalora.training.run_registry.RunRegistry`.
The facts of a run are built once, as a :class:`RunResult`; the registry row is :meth:`RunResult.record`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._version import library_versions
from ..data import DataSplits
from ..data.data_source import StreamSpec
from ..data.spec import DataSpec
from ..device import pick_device
from ..errors import ModelError, TrainingError
from ..measure import count_flops, count_parameters
from ..methods import DEFAULT_RANK, default_alpha
from ..models import check_compatible, resolve_model
from . import distributed
from .loop import Progress, TrainConfig, fit
from .methods import check_method, prepare
from .run_folder import save_run_folder
from .run_registry import RunNotFoundError, RunRegistry

__all__ = ["RunResult", "train_run"]


@dataclass
class RunResult:
    """Everything recorded about one run; ``model`` is the trained model (kept in memory only).

    :meth:`record` is the row the run registry stores, so the two never disagree.
    """

    method: str
    rank: int | None
    seed: int
    model_name: str
    dataset: str
    domains: list[str]
    config: dict[str, Any]
    versions: dict[str, str]
    status: str = "completed"
    metrics: dict[str, Any] = field(default_factory=dict)
    trainable_params: int = 0
    total_params: int = 0
    flops: int = 0
    train_time_s: float = 0.0
    peak_memory_bytes: int = 0
    device: str = ""
    adapter_path: str | None = None
    error: str | None = None
    id: int | None = None
    data: DataSpec | StreamSpec | None = None
    model: nn.Module | None = field(default=None, repr=False)

    @property
    def accuracy(self) -> float:
        """Test accuracy (validation when there is no test split)."""
        m = self.metrics.get("test") or self.metrics.get("val") or {}
        return float(m.get("accuracy", float("nan")))

    @property
    def per_domain(self) -> dict[str, float]:
        return dict((self.metrics.get("test") or {}).get("per_domain", {}))

    def record(self) -> dict[str, Any]:
        """The run as a registry row (JSON-ready values; no id, no model)."""
        row = {
            "model": self.model_name,
            "dataset": self.dataset,
            "domains": list(self.domains),
            "method": self.method,
            "rank": self.rank,
            "seed": self.seed,
            "config": self.config,
            "versions": self.versions,
            "status": self.status,
            "metrics": self.metrics,
            "adapter_path": self.adapter_path,
        }
        if self.status == "completed":
            row.update(
                accuracy=self.accuracy,
                trainable_params=self.trainable_params,
                total_params=self.total_params,
                flops=self.flops,
                train_time_s=self.train_time_s,
                peak_memory_bytes=self.peak_memory_bytes,
                device=self.device,
            )
        if self.error is not None:
            row["error"] = self.error
        return row

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> RunResult:
        """A run as the registry holds it (``model`` is None: rebuild it from ``adapter_path``)."""
        config = dict(row.get("config") or {})
        data = config.get("data") or {}
        spec: DataSpec | StreamSpec | None = None
        if data.get("source"):
            spec = StreamSpec.from_dict(data)
        elif data.get("name") and "domains" in data:
            spec = DataSpec.from_dict(data)

        def num(key: str, kind=float, default=0):
            v = row.get(key)
            return kind(v) if v is not None else default

        return cls(
            method=str(row.get("method")),
            rank=row.get("rank"),
            seed=num("seed", int),
            model_name=str(row.get("model")),
            dataset=str(row.get("dataset")),
            domains=list(row.get("domains") or []),
            config=config,
            versions=dict(row.get("versions") or {}),
            status=str(row.get("status")),
            metrics=dict(row.get("metrics") or {}),
            trainable_params=num("trainable_params", int),
            total_params=num("total_params", int),
            flops=num("flops", int),
            train_time_s=num("train_time_s"),
            peak_memory_bytes=num("peak_memory_bytes", int),
            device=str(row.get("device") or ""),
            adapter_path=row.get("adapter_path"),
            error=row.get("error"),
            id=row.get("id"),
            data=spec,
        )


def _measure(result: RunResult, net: nn.Module, fit_res, flops_base: int, probe: torch.Tensor) -> None:
    """Copy what training measured into ``result`` (parameters, metrics, FLOPs, time, memory, device)."""
    result.trainable_params, result.total_params = count_parameters(net)
    result.metrics = {
        "test": asdict(fit_res.test) if fit_res.test is not None else None,
        "val": asdict(fit_res.val) if fit_res.val is not None else None,
        "history": fit_res.history,
        "best_epoch": fit_res.best_epoch,
        "flops_base": flops_base,
    }
    result.flops = count_flops(net, probe)
    result.train_time_s = fit_res.train_time_s
    result.peak_memory_bytes = fit_res.peak_memory_bytes
    result.device = fit_res.device
    result.model = net


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
    data: DataSpec | StreamSpec | DataSplits,
    method: str,
    train_config: TrainConfig | None = None,
    *,
    rank: int | None = DEFAULT_RANK,
    alpha: float | None = None,
    target_modules: str | Sequence[str] = "all",
    adapter_kwargs: Mapping[str, Any] | None = None,
    registry: RunRegistry | None = None,
    out_dir: str | os.PathLike | None = None,
    callback: Callable[[Progress], None] | None = None,
    cancel_event: threading.Event | None = None,
    model_name: str | None = None,
    model_options: Mapping[str, Any] | None = None,
) -> RunResult:
    """Train ``method`` on ``model`` and ``data``; measure, save and record the run.

    Parameters
    ----------
    model
        A name (see :func:`~metalora.models.resolve_model`) or an ``nn.Module`` (deep-copied: the caller's
        module is untouched).
    data
        A :class:`~metalora.data.DataSpec` (recorded, so the run can be rebuilt) or ready
        :class:`~metalora.data.DataSplits`.
    method, rank, alpha, target_modules, adapter_kwargs
        See :func:`~metalora.training.methods.prepare`. ``rank`` is ignored by methods without one.
    train_config
        :class:`~metalora.training.loop.TrainConfig`; its ``seed`` seeds the new parameters too.
    registry
        Where to record the run (the first process only under torchrun). Its ``runs/`` folder receives the
        run folder unless ``out_dir`` is given.
    out_dir
        Parent folder of the run folder. With neither ``registry`` nor ``out_dir`` nothing is written.
    callback, cancel_event
        As in :func:`~metalora.training.loop.fit`. A cancelled run leaves no folder and no registry row.
    model_name
        The name recorded for a module passed as ``model``.
    model_options
        For a zoo name (``"torchvision:resnet18"``): ``weights`` (a path) and ``image_size``, passed to
        :func:`~metalora.models.resolve_model` and recorded with the run.

    Raises
    ------
    DataError
        The data does not fit the model (channels, classes).
    TrainingError
        Training diverged. The run is recorded with status ``"failed"`` and no folder.
    CancelledError
        ``cancel_event`` was set before the run folder was in place.
    """
    spec_method = check_method(method)
    config = train_config or TrainConfig()
    info = distributed.from_env()
    device = distributed.setup(info, config.device) if info else pick_device(config.device)
    main = info is None or info.is_main
    spec = data if isinstance(data, DataSpec | StreamSpec) else None
    splits = spec.load() if spec is not None else data
    options = dict(model_options or {})
    base, name = resolve_model(model, splits, **options)
    check_compatible(base, splits)
    name = model_name or name
    base.to(device).eval()
    flops_base, probe = _probe(base, splits, device)
    rank_used = int(rank or DEFAULT_RANK) if spec_method.ranked else None
    net, params = prepare(
        base,
        method,
        rank=rank_used or DEFAULT_RANK,
        alpha=alpha,
        target_modules=target_modules,
        seed=config.seed,
        num_classes=len(splits.train.class_names),
        **dict(adapter_kwargs or {}),
    )
    data_record = spec.to_dict() if spec else {"name": getattr(splits.train, "name", "custom")}
    result = RunResult(
        method=method,
        rank=rank_used,
        seed=int(config.seed),
        model_name=name,
        dataset=data_record["name"],
        domains=list(splits.train.domain_names),
        config={
            "model": name,
            "model_options": {k: str(v) if isinstance(v, os.PathLike) else v for k, v in options.items()},
            "data": data_record,
            "method": method,
            "rank": rank_used,
            "alpha": (default_alpha(rank_used) if alpha is None else float(alpha)) if rank_used else None,
            "target_modules": target_modules if isinstance(target_modules, str) else list(target_modules),
            "adapter": getattr(getattr(net, "config", None), "to_dict", dict)(),
            "train": config.as_dict(),
            "world_size": info.world_size if info else 1,
        },
        versions=library_versions(),
        data=spec,
    )
    recorded = registry is not None and main
    if recorded:  # visible as "running" from now on; "interrupted" if this process dies before the end
        result.status = "running"
        result.config["process"] = {"host": socket.gethostname(), "pid": os.getpid()}
        result.id = registry.add(result.record())
    try:
        fit_res = fit(
            net, splits, config, device=device, callback=callback, cancel_event=cancel_event, params=params
        )
        _measure(result, net, fit_res, flops_base, probe)
        result.status = "completed"
        parent = (
            Path(out_dir) if out_dir is not None else (registry.runs_dir if registry is not None else None)
        )
        if parent is not None and main:
            result.adapter_path = str(save_run_folder(net, method, parent, result.record(), cancel_event))
        if recorded:
            try:
                registry.update(result.id, result.record())
            except BaseException:
                if result.adapter_path is not None:
                    shutil.rmtree(result.adapter_path, ignore_errors=True)
                raise
    except TrainingError as err:
        if recorded:
            result.status, result.error, result.metrics = "failed", str(err), {"error": str(err)}
            registry.update(result.id, result.record())
            err.run_id = result.id  # so a caller (the dashboard) can show the failed run as its own
        raise
    except BaseException:  # cancelled, or an unexpected error: the run leaves no row behind
        if recorded:
            with contextlib.suppress(RunNotFoundError):
                registry.delete(result.id)
        raise
    return result
