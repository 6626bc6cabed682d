"""The supervised training loop for any ``nn.Module`` classifier, alone or under ``torchrun``.

What is trained is whatever has ``requires_grad=True`` (or the ``params`` given), so the same loop
fits a whole backbone or only the adapters plugged into a frozen one. The loop is built for an
interactive dashboard: it reports :class:`Progress` through a callback, stops cooperatively when a
``threading.Event`` is set, keeps and restores the best epoch's weights, and turns the usual ways a
run goes wrong (a diverging loss, NaN inputs, running out of GPU memory) into errors that say what to do.

In an initialised process group (``torchrun``, see :func:`~metalora.training.distributed.setup`) the
same :func:`fit` and :func:`evaluate` run on every process: every process draws the same shuffled order and
trains on its share of each global batch, DDP averages the gradients, evaluation metrics are computed
on a shard per process and summed, and a cancel request, a non-finite loss or running out of memory in a
forward pass in any process stops every process at the same step, so no process is left waiting.

The splits may be held in memory (:class:`~metalora.data.ImageDataset`: indexed directly, as always) or
streamed (:class:`~metalora.data.StreamingDataset`: read through a DataLoader with
``TrainConfig.num_workers`` workers, pinned memory on CUDA). Both draw the same batches from the same seeded
generator, so the same pixels give the same run either way; a streamed batch is checked for NaN pixels and
labels as it arrives, and a failed read stops every process at the same step too.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from ..adapters.features import FeatureCache
from ..data.loader import iterate_batches
from ..data.streaming import is_streaming
from ..device import pick_device, seed_everything
from ..errors import CancelledError, DataError, MetaLoRAError, ModelError, TrainingError
from . import distributed
from .evaluate import (
    cached_features,
    check_batch,
    check_labels,
    check_logits,
    chunks,
    evaluate,
    peak_memory_bytes,
    tensors,
)
from .records import EvalResult, FitResult, Progress, TrainConfig

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from ..data import DataSplits

__all__ = ["EvalResult", "FitResult", "Progress", "TrainConfig", "evaluate", "fit", "peak_memory_bytes"]


# ----------------------------------------------------------------------------- helpers
def _snapshot(model: nn.Module, params: list[nn.Parameter]) -> dict[str, Any]:
    """Copies of the trained tensors and of all buffers (batch-norm statistics change in training)."""
    return {
        "params": [p.detach().clone() for p in params],
        "buffers": {k: b.detach().clone() for k, b in model.named_buffers()},
    }


@torch.no_grad()
def _restore(model: nn.Module, params: list[nn.Parameter], snap: dict[str, Any]) -> None:
    for p, saved in zip(params, snap["params"], strict=True):
        p.copy_(saved)
    for k, b in model.named_buffers():
        if k in snap["buffers"]:
            b.copy_(snap["buffers"][k])


def _out_of_memory(device: torch.device, config: TrainConfig, where: str, kept: str) -> TrainingError:
    """The error for running out of accelerator memory, after handing the cached blocks back."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    smaller = max(1, config.batch_size // 2)
    return TrainingError(
        f"Out of memory on {device} {where}.",
        f"Use a smaller batch size (try {smaller}), a smaller adapter rank or smaller images, or train on "
        f"another device. The model keeps {kept}.",
    )


def _autocast(device: torch.device, enabled: bool):
    """bfloat16 autocast on CUDA when asked for and supported; a no-op context elsewhere."""
    use = enabled and device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use)


def _feature_cache(model: nn.Module, data, config: TrainConfig, augmented: bool = False):
    """A cache of the features of ``data``'s images for a MetaLoRA model (``config.cache_features``), or
    None: not for other models, nor for augmented images, which differ every epoch."""
    if not config.cache_features or config.epochs < 2 or not hasattr(model, "cached_features"):
        return None
    if not model.config.meta or augmented:
        return None
    return FeatureCache(len(data))


def _cosine(total: int, warm: int) -> Callable[[int], float]:
    """LR multiplier: linear warm-up over ``warm`` steps, then cosine decay to 0 at ``total``."""

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))

    return f


# ----------------------------------------------------------------------------- training
@dataclass
class _Meter:
    """Running loss/accuracy of the current epoch (this process's share) and the clock, as :class:`Progress`."""

    epochs: int
    steps: int
    start: float = field(default_factory=time.perf_counter)
    t_epoch: float = 0.0
    seen: int = 0
    loss_sum: float = 0.0
    hits: int = 0
    done_steps: int = 0

    def new_epoch(self) -> None:
        self.t_epoch, self.seen, self.loss_sum, self.hits = time.perf_counter(), 0, 0.0, 0

    def add(self, loss: float, logits: torch.Tensor, target: torch.Tensor) -> None:
        self.seen += len(target)
        self.loss_sum += loss * len(target)
        self.hits += int((logits.detach().argmax(1) == target).sum())
        self.done_steps += 1

    def progress(self, epoch: int, step: int, val_acc: float | None, end: bool = False) -> Progress:
        now = time.perf_counter()
        elapsed, total = now - self.start, self.epochs * self.steps
        return Progress(
            epoch=epoch,
            epochs=self.epochs,
            step=step,
            steps_per_epoch=self.steps,
            loss=self.loss_sum / max(self.seen, 1),
            train_acc=self.hits / max(self.seen, 1),
            val_acc=val_acc,
            samples_per_s=self.seen / max(now - self.t_epoch, 1e-9),
            eta_s=elapsed / max(self.done_steps, 1) * (total - self.done_steps),
            elapsed_s=elapsed,
            epoch_end=end,
        )


def fit(
    model: nn.Module,
    splits: DataSplits,
    config: TrainConfig | None = None,
    *,
    callback: Callable[[Progress], None] | None = None,
    cancel_event: threading.Event | None = None,
    params: Iterable[nn.Parameter] | None = None,
    device: str | torch.device | None = None,
) -> FitResult:
    """Train on ``splits.train``, pick the best epoch on ``splits.val``, test on ``splits.test``.

    Parameters
    ----------
    model
        Any classifier mapping ``(B, C, H, W)`` images in ``[0, 1]`` to ``(B, K)`` logits.
    splits
        Has ``train``, ``val`` and ``test`` :class:`~metalora.data.ImageDataset` or
        :class:`~metalora.data.StreamingDataset` (``test`` may be ``None`` or empty).
    config
        :class:`TrainConfig`; the defaults when ``None``.
    callback
        Called with a :class:`Progress` every few steps and at the end of every epoch (in process 0 only).
    cancel_event
        When set (e.g. by a "Stop" button) training stops at the next batch, the best weights so far
        are restored and :class:`CancelledError` is raised (on every process, if set on any).
    params
        Parameters to optimise; by default every parameter with ``requires_grad=True``.
    device
        Where to train; ``config.device`` when ``None``. Under ``torchrun`` pass the device that
        :func:`~metalora.training.distributed.setup` returned.

    Returns
    -------
    FitResult
        The model is left on the training device, in eval mode, with the best epoch's weights
        (trained tensors and all buffers, e.g. batch-norm statistics), the same on every process.

    Raises
    ------
    TrainingError
        A non-finite loss (after restoring the best weights so far), non-finite input pixels, or
        running out of GPU memory (``torch.cuda.OutOfMemoryError``) in training, validation or the
        final test: the message suggests a smaller batch size or rank, the best weights so far are
        restored and the CUDA cache is emptied.
    CancelledError
        ``cancel_event`` was set.

    Notes
    -----
    In an initialised process group (see :mod:`~metalora.training.distributed`) call it on every process
    with the same model, data and config. The model is wrapped in DDP while training; every process draws
    the same shuffled order and keeps every ``world``-th index of each global batch.
    """
    config = config or TrainConfig()
    device = pick_device(config.device if device is None else device)
    proc, world = distributed.process_and_world()
    params = [p for p in (model.parameters() if params is None else params) if p.requires_grad]
    if not params:
        raise ModelError(
            "The model has no trainable parameters (none has requires_grad=True).",
            "Unfreeze some layers or add adapters before training.",
        )
    streaming = is_streaming(splits.train)
    if streaming:  # labels now, pixels batch by batch
        x_tr, y_tr = None, check_labels(splits.train, "training")  # (N,)
    else:
        x_tr, y_tr, _ = tensors(splits.train, "training")  # (N, C, H, W), (N,)
    n = len(y_tr)
    if n < 2 * world:
        raise DataError(f"The training split has {n} image(s).", f"Train on at least {2 * world} images.")
    if splits.val is None or len(splits.val) == 0:
        raise DataError("The validation split is empty.", "Keep some images for validation.")
    if is_streaming(splits.val):
        check_labels(splits.val, "validation")
    else:
        tensors(splits.val, "validation")  # fail fast on bad validation data, before any training
    n_cls = len(splits.train.class_names)

    generator = seed_everything(int(config.seed))  # the only source of shuffling: the same on every process
    model.to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    net = distributed.wrap(model, device)  # DDP in a process group, else the model itself
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    steps = len(chunks(torch.arange(n), config.batch_size))
    total = steps * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _cosine(total, int(config.warmup_frac * total)))
    every = config.progress_every or max(1, steps // 10)
    report = callback if proc == 0 else None
    eval_kw = dict(batch_size=config.batch_size, num_workers=config.num_workers) if streaming else {}

    def batches(epoch: int, order: torch.Tensor):
        """``(indices, x, y)`` of this process's share of each global batch of the epoch."""
        shares = [
            idx[proc::world] if len(idx) >= world else idx[-1:] for idx in chunks(order, config.batch_size)
        ]
        if not streaming:
            return ((mine, x_tr[mine], y_tr[mine]) for mine in shares)
        read = iterate_batches(
            splits.train,
            shares,
            num_workers=config.num_workers,
            pin_memory=device.type == "cuda",
            epoch=epoch,
            seed=config.seed,
        )
        return ((mine, xb, yb) for mine, (xb, yb, _) in zip(shares, read, strict=True))

    augmented = streaming and getattr(splits.train, "augment", None) is not None
    cache = _feature_cache(model, splits.train, config, augmented)
    val_cache = _feature_cache(model, splits.val, config)  # evaluated without augmentation
    best, best_key, best_epoch, best_val = _snapshot(model, params), None, 0, None
    history: list[dict[str, float]] = []
    val_acc: float | None = None
    meter = _Meter(config.epochs, steps)

    def stop(exc: Exception) -> Exception:
        """Restore the best weights (or the starting ones) and hand back ``exc`` to raise."""
        _restore(model, params, best)
        model.eval()
        return exc

    def kept() -> str:
        return f"the best epoch so far ({best_epoch})" if best_epoch else "its starting weights"

    where = "before training"
    try:
        for epoch in range(1, config.epochs + 1):
            net.train()  # through the model's own train() in case it overrides it
            meter.new_epoch()
            order = torch.randperm(n, generator=generator)  # (N,)
            epoch_batches = batches(epoch, order)
            for step in range(1, steps + 1):
                where = f"at epoch {epoch}, step {step} (batch size {config.batch_size})"
                bad = None  # a streamed batch that could not be read or failed its checks
                try:
                    mine, xb, yb = next(epoch_batches)
                    if streaming:
                        check_batch(xb, yb, n_cls, "training", mine)
                except MetaLoRAError as err:
                    bad = err
                if bad is None:
                    xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
                    try:
                        with _autocast(device, config.bf16), cached_features(model, cache, mine):
                            logits = net(xb)  # (b, K)
                        logits = logits.float()
                        if epoch == 1 and step == 1:
                            check_logits(logits, n_cls)
                        loss = F.cross_entropy(logits, yb)
                        flags = [float(loss.item()), 0.0]  # [loss, out of memory]
                    except torch.cuda.OutOfMemoryError:
                        flags = [math.nan, 1.0]  # shared below so that every process stops here
                else:
                    flags = [math.nan, 0.0]
                flags.append(float(cancel_event is not None and cancel_event.is_set()))
                flags.append(float(bad is not None))
                # [loss, out of memory, cancel, bad batch], agreed by every process before backward
                loss_sum, ooms, cancels, bads = distributed.all_reduce(flags).tolist()
                if cancels:
                    msg = f"Training was cancelled at epoch {epoch}, step {step}."
                    raise stop(CancelledError(msg, f"The model keeps {kept()}."))
                if bads:
                    raise stop(
                        bad
                        if bad is not None
                        else DataError(f"Another process could not read its batch {where}.", "See its error.")
                    )
                if ooms:
                    raise torch.cuda.OutOfMemoryError(f"out of memory in a forward pass {where}")
                loss_value = loss_sum / world  # the mean over ranks
                if not math.isfinite(loss_value):
                    raise stop(
                        TrainingError(
                            f"The loss became {loss_value} at epoch {epoch}, step {step}: training diverged.",
                            f"Lower the learning rate (now {config.lr:g}; try {config.lr / 10:g}) or set "
                            f"max_grad_norm=1.0. The model keeps {kept()}.",
                        )
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # DDP averages the gradients over the processes here
                if config.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                meter.add(loss_value, logits, yb)
                if report is not None and step % every == 0 and step != steps:
                    report(meter.progress(epoch, step, val_acc))

            where = f"while evaluating epoch {epoch} on the validation split"
            val_res = evaluate(
                model, splits.val, device=device, feature_cache=val_cache, **eval_kw
            )  # restores train mode afterwards
            val_acc = val_res.accuracy
            key = (val_res.accuracy, -val_res.loss if math.isfinite(val_res.loss) else -math.inf)
            if best_key is None or key > best_key:
                best, best_key, best_epoch, best_val = _snapshot(model, params), key, epoch, val_res
            seen, hits = distributed.all_reduce([meter.seen, meter.hits]).tolist()  # over all ranks
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
            if report is not None:
                report(meter.progress(epoch, steps, val_acc, end=True))

        _restore(model, params, best)
        model.eval()
        train_time = time.perf_counter() - meter.start
        test = None
        if getattr(splits, "test", None) is not None and len(splits.test) > 0:
            where = f"while evaluating the best epoch ({best_epoch}) on the test split"
            test = evaluate(model, splits.test, device=device, **eval_kw)
    except torch.cuda.OutOfMemoryError:
        oom = True  # handled below, outside the except block, so its traceback's tensors can be freed
    else:
        oom = False
    if oom:
        logits = loss = xb = yb = None  # this step's tensors and gradients, before the cache is emptied
        optimizer.zero_grad(set_to_none=True)
        raise stop(_out_of_memory(device, config, where, kept()))

    peak = distributed.all_reduce([peak_memory_bytes(device)], op="max")  # (1,)
    return FitResult(
        history=history,
        best_epoch=best_epoch,
        val=best_val,
        test=test,
        train_time_s=train_time,
        peak_memory_bytes=int(peak.item()),
        device=distributed.describe(device),
    )
