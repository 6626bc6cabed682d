"""Training across processes with DistributedDataParallel: ``torchrun --nproc_per_node=N -m metalora train``.

:func:`fit_distributed` is :func:`~metalora.training.loop.fit` for several processes and keeps its
behaviour: the same :class:`~metalora.training.loop.TrainConfig`, AdamW with the cosine schedule, the
same global batches (every rank draws the same shuffled order and keeps its share of each batch), the
best epoch on validation, :class:`~metalora.training.loop.Progress` callbacks (rank 0 only), and the
same errors. What differs is only what several processes need:

* gradients are averaged by DDP (gloo on CPU, nccl on GPU);
* validation and test metrics are computed on a shard per rank and summed with ``all_reduce`` (correct
  and total counts per domain and per class, summed losses), so every rank sees the same numbers;
* a non-finite loss or a cancel request on any rank stops every rank at the same step (one small
  ``all_reduce`` per step), so no process is left waiting in a collective.

The caller (:func:`~metalora.training.runner.train_run`) lets only rank 0 write files and the registry.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..device import seed_everything
from ..errors import CancelledError, ConfigError, DataError, ModelError, TrainingError
from .loop import (  # the single-process loop's building blocks, shared so the two paths agree
    EvalResult,
    FitResult,
    Progress,
    TrainConfig,
    _autocast,
    _batches,
    _check_logits,
    _cosine,
    _Meter,
    _restore,
    _snapshot,
    _steps_per_epoch,
    _tensors,
    peak_memory_bytes,
)

__all__ = ["DistInfo", "evaluate_distributed", "fit_distributed", "from_env", "setup", "shutdown"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a ``torchrun`` job."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env(env: dict | None = None) -> DistInfo | None:
    """The job read from ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` (set by torchrun); ``None`` when
    this process runs alone (no ``WORLD_SIZE``, or a world of one)."""
    env = os.environ if env is None else env
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        return None
    return DistInfo(rank, world, local) if world > 1 else None


def setup(info: DistInfo, device: str = "auto") -> torch.device:
    """Join the process group (once) and return this rank's device: ``cuda:LOCAL_RANK`` with nccl when
    CUDA is asked for (or available under ``"auto"``) and every local process has a GPU of its own,
    else the CPU with gloo (``"auto"`` with fewer GPUs than processes falls back to the CPU on all ranks)."""
    kind = str(device).split(":")[0]
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", info.world_size))
    enough = torch.cuda.is_available() and torch.cuda.device_count() >= local_world
    if kind == "cuda" and not enough:
        raise ConfigError(
            f"{local_world} processes on this machine need {local_world} GPUs; "
            f"{torch.cuda.device_count()} are visible.",
            "Start as many processes as GPUs (--nproc_per_node), or use --device cpu.",
        )
    use_cuda = enough and kind in ("auto", "cuda")
    dev = torch.device("cuda", info.local_rank) if use_cuda else None
    if dev is not None:
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=info.rank, world_size=info.world_size)
    return dev if dev is not None else torch.device("cpu")


def shutdown(wait: bool = True) -> None:
    """Leave the process group (no-op when not in one); with ``wait``, first wait for every rank
    (skip it after an error, when another rank may never arrive)."""
    if dist.is_available() and dist.is_initialized():
        try:
            if wait:
                dist.barrier()
        finally:
            dist.destroy_process_group()


def _all_sum(values: list[float], device: torch.device) -> list[float]:
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


@torch.no_grad()
def evaluate_distributed(
    model: nn.Module, dataset, device: torch.device, *, batch_size: int = 256
) -> EvalResult:
    """:func:`~metalora.training.loop.evaluate` with the images split across ranks and the counts summed."""
    x, y, dom = _tensors(dataset, getattr(dataset, "name", "") or "evaluation")
    n_cls, n_dom = len(dataset.class_names), len(dataset.domain_names)
    if len(y) == 0:
        return EvalResult(float("nan"), float("nan"), {}, {}, 0)
    rank, world = dist.get_rank(), dist.get_world_size()
    mine = torch.arange(rank, len(y), world)
    hits_d, cnt_d = torch.zeros(n_dom, dtype=torch.float64), torch.zeros(n_dom, dtype=torch.float64)
    hits_c, cnt_c = torch.zeros(n_cls, dtype=torch.float64), torch.zeros(n_cls, dtype=torch.float64)
    loss_sum = 0.0
    was_training = model.training
    model.eval()
    try:
        for chunk in mine.split(max(1, int(batch_size))):
            logits = model(x[chunk].to(device)).float()  # (B, K)
            _check_logits(logits, n_cls)
            loss_sum += F.cross_entropy(logits, y[chunk].to(device), reduction="sum").item()
            ok = (logits.argmax(1).cpu() == y[chunk]).double()
            hits_d.index_add_(0, dom[chunk], ok)
            cnt_d += torch.bincount(dom[chunk], minlength=n_dom).double()
            hits_c.index_add_(0, y[chunk], ok)
            cnt_c += torch.bincount(y[chunk], minlength=n_cls).double()
    finally:
        model.train(was_training)
    packed = torch.cat([hits_d, cnt_d, hits_c, cnt_c, torch.tensor([loss_sum])]).to(device)
    dist.all_reduce(packed, op=dist.ReduceOp.SUM)
    hits_d, cnt_d, hits_c, cnt_c, loss = packed.cpu().split([n_dom, n_dom, n_cls, n_cls, 1])
    n = float(cnt_d.sum())

    def per(hits: torch.Tensor, cnt: torch.Tensor, names: list[str]) -> dict[str, float]:
        return {names[i]: float(hits[i] / cnt[i]) for i in range(len(names)) if cnt[i] > 0}

    return EvalResult(
        accuracy=float(hits_d.sum()) / n,
        loss=float(loss) / n,
        per_domain=per(hits_d, cnt_d, list(dataset.domain_names)),
        per_class=per(hits_c, cnt_c, list(dataset.class_names)),
        n=int(n),
    )


def fit_distributed(
    model: nn.Module,
    splits,
    config: TrainConfig | None = None,
    *,
    device: torch.device,
    callback: Callable[[Progress], None] | None = None,
    cancel_event: threading.Event | None = None,
    params: Iterable[nn.Parameter] | None = None,
) -> FitResult:
    """Train ``model`` on this rank's share of every batch, as :func:`~metalora.training.loop.fit` does alone.

    Call it on every rank of an initialised process group (see :func:`setup`), with the same model,
    data and config. ``model`` is wrapped in DDP only while training; afterwards it holds the best
    epoch's weights (identical on every rank), in eval mode, on ``device``.
    """
    config = config or TrainConfig()
    rank, world = dist.get_rank(), dist.get_world_size()
    params = [p for p in (model.parameters() if params is None else params) if p.requires_grad]
    if not params:
        raise ModelError(
            "The model has no trainable parameters (none has requires_grad=True).",
            "Unfreeze some layers or add adapters before training.",
        )
    x_tr, y_tr, _ = _tensors(splits.train, "training")
    if len(y_tr) < 2 * world:
        raise DataError(f"The training split has {len(y_tr)} image(s).", f"Train on at least {2 * world}.")
    if splits.val is None or len(splits.val) == 0:
        raise DataError("The validation split is empty.", "Keep some images for validation.")
    n_cls = len(splits.train.class_names)

    generator = seed_everything(int(config.seed))  # the same shuffled order on every rank
    model.to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    ddp = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    steps = _steps_per_epoch(len(y_tr), config.batch_size)
    total = steps * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _cosine(total, int(config.warmup_frac * total)))
    every = config.progress_every or max(1, steps // 10)
    best, best_key, best_epoch, best_val = _snapshot(model, params), None, 0, None
    history: list[dict[str, float]] = []
    val_acc: float | None = None
    meter = _Meter(config.epochs, steps)

    def stop(exc: Exception) -> Exception:
        _restore(model, params, best)
        model.eval()
        return exc

    for epoch in range(1, config.epochs + 1):
        ddp.train()
        meter.new_epoch()
        for step, idx in enumerate(_batches(len(y_tr), config.batch_size, generator), start=1):
            local = idx[rank::world] if len(idx) >= world else idx[-1:]  # this rank's share of the batch
            xb, yb = x_tr[local].to(device), y_tr[local].to(device)
            with _autocast(device, config.bf16):
                logits = ddp(xb).float()  # (b, K)
            if epoch == 1 and step == 1:
                _check_logits(logits, n_cls)
            loss = F.cross_entropy(logits, yb)
            cancelled = float(cancel_event is not None and cancel_event.is_set())
            loss_sum, cancels = _all_sum([float(loss.item()), cancelled], device)  # agree before backward
            if cancels > 0:
                msg = f"Training was cancelled at epoch {epoch}, step {step}."
                raise stop(CancelledError(msg, "The model keeps its best weights so far."))
            if not math.isfinite(loss_sum):
                raise stop(
                    TrainingError(
                        f"The loss became {loss_sum / world} at epoch {epoch}, step {step}: training diverged.",
                        f"Lower the learning rate (now {config.lr:g}; try {config.lr / 10:g}) or set "
                        "max_grad_norm=1.0.",
                    )
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP averages the gradients across ranks here
            if config.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            meter.add(loss_sum / world, logits, yb)
            if callback is not None and rank == 0 and step % every == 0 and step != steps:
                callback(meter.progress(epoch, step, val_acc))

        val_res = evaluate_distributed(model, splits.val, device)
        val_acc = val_res.accuracy
        key = (val_res.accuracy, -val_res.loss if math.isfinite(val_res.loss) else -math.inf)
        if best_key is None or key > best_key:
            best, best_key, best_epoch, best_val = _snapshot(model, params), key, epoch, val_res
        seen, hits = _all_sum([meter.seen, meter.hits], device)
        dt = time.perf_counter() - meter.t_epoch
        history.append(
            dict(
                epoch=epoch,
                train_loss=meter.loss_sum / max(meter.seen, 1),
                train_acc=hits / max(seen, 1),
                val_loss=val_res.loss,
                val_acc=val_res.accuracy,
                lr=float(optimizer.param_groups[0]["lr"]),
                time_s=dt,
                samples_per_s=seen / max(dt, 1e-9),
            )
        )
        if callback is not None and rank == 0:
            callback(meter.progress(epoch, steps, val_acc, end=True))

    _restore(model, params, best)
    model.eval()
    train_time = time.perf_counter() - meter.start
    test = None
    if getattr(splits, "test", None) is not None and len(splits.test) > 0:
        test = evaluate_distributed(model, splits.test, device)
    peak = torch.tensor([peak_memory_bytes(device)], dtype=torch.float64, device=device)
    dist.all_reduce(peak, op=dist.ReduceOp.MAX)
    return FitResult(
        history=history,
        best_epoch=best_epoch,
        val=best_val,
        test=test,
        train_time_s=train_time,
        peak_memory_bytes=int(peak.item()),
        device=f"{device} x{world} ({dist.get_backend()})",
    )
