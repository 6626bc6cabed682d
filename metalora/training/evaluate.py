"""Evaluating a classifier on a data set, alone or in every process of a ``torchrun`` job, and the checks
of the data and the model's output that training shares.

Kept apart from the training loop (:mod:`.loop`) so both read top to bottom.

A data set held in memory (:class:`~metalora.data.ImageDataset`) is checked whole before use and indexed
directly; a streaming one (:class:`~metalora.data.StreamingDataset`) has its labels checked up front and
its pixels batch by batch (:func:`check_batch`) as a :class:`~torch.utils.data.DataLoader` reads them
(:func:`~metalora.data.iterate_batches`), in the same batches and shards as the in-memory path.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.loader import iterate_batches
from ..data.streaming import is_streaming
from ..device import model_device, pick_device
from ..errors import DataError, MetaLoRAError, ModelError, TrainingError
from . import distributed
from .records import EvalResult

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from ..data import ImageDataset

__all__ = [
    "check_batch",
    "check_labels",
    "check_logits",
    "chunks",
    "evaluate",
    "peak_memory_bytes",
    "tensors",
]


def peak_memory_bytes(device: torch.device) -> int:
    """CUDA allocator peak on a GPU; the process's peak resident set size elsewhere (0 if unknown)."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        import resource
    except ImportError:  # Windows
        return 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)  # bytes on macOS, KiB on Linux


def tensors(ds: ImageDataset, split: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x, y, domain)`` CPU tensors of a data set, after checking shapes and finiteness."""
    x = torch.as_tensor(np.asarray(ds.x), dtype=torch.float32)  # (N, C, H, W)
    y = torch.as_tensor(np.asarray(ds.y), dtype=torch.int64)  # (N,)
    dom = torch.as_tensor(np.asarray(ds.domain), dtype=torch.int64)  # (N,)
    if x.dim() != 4 or y.shape != (x.shape[0],) or dom.shape != (x.shape[0],):
        raise DataError(
            f"The {split} split has images of shape {tuple(x.shape)} and labels of shape {tuple(y.shape)}.",
            "Images must be (N, C, H, W) with one class label and one domain label per image.",
        )
    finite = torch.isfinite(x).flatten(1).all(dim=1) if len(x) else torch.ones(0, dtype=torch.bool)
    if not bool(finite.all()):
        bad = torch.nonzero(~finite).flatten()
        raise TrainingError(
            f"The {split} split contains {len(bad)} image(s) with NaN or infinite pixels "
            f"(first at index {int(bad[0])}).",
            "Remove or repair those images before training.",
        )
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(ds.class_names)):
        raise DataError(
            f"The {split} split has class labels outside 0..{len(ds.class_names) - 1}.",
            "Every label must index class_names.",
        )
    return x, y, dom


def check_labels(ds, split: str) -> torch.Tensor:
    """The class labels of a (streaming) data set as an int64 tensor, after the checks :func:`tensors`
    makes of them; the pixels are checked batch by batch (:func:`check_batch`)."""
    y = torch.as_tensor(np.asarray(ds.y), dtype=torch.int64)  # (N,)
    if y.dim() != 1 or len(np.asarray(ds.domain)) != len(y):
        raise DataError(
            f"The {split} split has {tuple(y.shape)} class labels and {len(np.asarray(ds.domain))} domain labels.",
            "Give one class label and one domain label per image.",
        )
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(ds.class_names)):
        raise DataError(
            f"The {split} split has class labels outside 0..{len(ds.class_names) - 1}.",
            "Every label must index class_names.",
        )
    return y


def check_batch(x: torch.Tensor, y: torch.Tensor, num_classes: int, split: str, index) -> None:
    """Refuse a streamed batch with NaN or infinite pixels (:class:`TrainingError`) or labels outside
    ``0..num_classes-1`` (:class:`DataError`); ``index`` holds the batch's indices in the split."""
    if x.dim() != 4 or y.shape != (x.shape[0],):
        raise DataError(
            f"The {split} split gave a batch of images {tuple(x.shape)} and labels {tuple(y.shape)}.",
            "Images must be (C, H, W) with one class label each.",
        )
    finite = torch.isfinite(x).flatten(1).all(dim=1)  # (B,)
    if not bool(finite.all()):
        bad = [int(index[i]) for i in torch.nonzero(~finite).flatten()]
        raise TrainingError(
            f"The {split} split contains {len(bad)} image(s) with NaN or infinite pixels in one batch "
            f"(first at index {bad[0]}).",
            "Remove or repair those images before training.",
        )
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise DataError(
            f"The {split} split has class labels outside 0..{num_classes - 1}.",
            "Every label must index class_names.",
        )


def chunks(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """``order`` (indices) cut into batches; a trailing batch of one joins the previous one so batch
    norm never sees a single sample."""
    chunks = list(order.split(batch_size))
    if len(chunks) > 1 and len(chunks[-1]) == 1:
        last = chunks.pop()  # popped first: ``chunks[-2] = cat([chunks[-2], chunks.pop()])`` would write
        chunks[-1] = torch.cat([chunks[-1], last])  # the wrong slot (or none) once the list had shrunk
    return chunks


def check_logits(logits: torch.Tensor, num_classes: int) -> None:
    if logits.dim() != 2 or logits.shape[1] != num_classes:
        raise ModelError(
            f"The model outputs shape {tuple(logits.shape)} but the data has {num_classes} classes.",
            f"Build the model with num_classes={num_classes} (the output must be (B, {num_classes})).",
        )


# ----------------------------------------------------------------------------- evaluation
@torch.no_grad()
def cached_features(model: nn.Module, cache, indices: torch.Tensor):
    """Inside: ``model`` reads the features of the images ``indices`` from ``cache`` (no-op for None)."""
    return contextlib.nullcontext() if cache is None else model.cached_features(cache, indices)


def evaluate(
    model: nn.Module,
    dataset: ImageDataset,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    num_workers: int | None = None,
    feature_cache=None,
) -> EvalResult:
    """Accuracy and mean cross-entropy of ``model`` on ``dataset``, overall and per domain/class.

    ``feature_cache``: a :class:`~metalora.adapters.features.FeatureCache` of ``dataset``'s images for a
    MetaLoRA model evaluated again and again (``fit``'s validation): their frozen features are computed once.

    The model is moved to ``device`` when one is given (else it stays where it is), put in eval
    mode for the pass, and its previous mode is restored afterwards (through ``model.train(mode)``,
    so a model overriding ``train`` keeps its own rules).

    In an initialised process group every process must call it: each evaluates every ``world``-th image
    and the counts and summed losses are added up over the processes, so all ranks return the same result.
    Running out of memory on one process raises ``torch.cuda.OutOfMemoryError`` on every process.

    A :class:`~metalora.data.StreamingDataset` is read in the same batches through a DataLoader with
    ``num_workers`` workers (``None``: :func:`~metalora.data.default_num_workers`), without augmentation,
    into pinned memory on CUDA; its pixels are checked batch by batch (:func:`check_batch`).
    """
    dev = model_device(model, fallback="auto") if device is None else pick_device(device)
    model.to(dev)  # a no-op when it is already there
    split = getattr(dataset, "name", "") or "evaluation"
    streaming = is_streaming(dataset)
    if streaming:
        dataset = dataset.with_augment(None)
        y, dom = check_labels(dataset, split), torch.as_tensor(np.asarray(dataset.domain), dtype=torch.int64)
    else:
        x, y, dom = tensors(dataset, split)
    n, n_cls, n_dom = len(y), len(dataset.class_names), len(dataset.domain_names)
    if n == 0:
        return EvalResult(float("nan"), float("nan"), {}, {}, 0)
    proc, world = distributed.process_and_world()
    hits_d, cnt_d = torch.zeros(n_dom, dtype=torch.float64), torch.zeros(n_dom, dtype=torch.float64)
    hits_c, cnt_c = torch.zeros(n_cls, dtype=torch.float64), torch.zeros(n_cls, dtype=torch.float64)
    loss_sum, error = 0.0, None
    was_training = model.training
    model.eval()
    shard = chunks(torch.arange(proc, n, world), max(1, int(batch_size)))  # this process's batches
    if streaming:
        read = iterate_batches(dataset, shard, num_workers=num_workers, pin_memory=dev.type == "cuda")
        batches = ((idx, xb) for idx, (xb, _, _) in zip(shard, read, strict=True))
    else:
        batches = ((idx, x[idx]) for idx in shard)
    try:
        for idx, xb in batches:
            if streaming:
                check_batch(xb, y[idx], n_cls, split, idx)
            with cached_features(model, feature_cache, idx):
                logits = model(xb.to(dev, non_blocking=True)).float()  # (B, K)
            check_logits(logits, n_cls)
            loss_sum += F.cross_entropy(logits, y[idx].to(dev), reduction="sum").item()
            ok = (logits.argmax(dim=1).cpu() == y[idx]).double()  # (B,)
            hits_d.index_add_(0, dom[idx], ok)
            cnt_d += torch.bincount(dom[idx], minlength=n_dom).double()
            hits_c.index_add_(0, y[idx], ok)
            cnt_c += torch.bincount(y[idx], minlength=n_cls).double()
    except (torch.cuda.OutOfMemoryError, MetaLoRAError) as err:  # a MetaLoRAError: a streamed batch failed
        error = err  # raised after the all-reduce below, so that no other process is left waiting in it
    finally:
        model.train(was_training)
    oom = isinstance(error, torch.cuda.OutOfMemoryError)
    flags = [loss_sum, float(oom), float(error is not None and not oom)]
    packed = torch.cat([hits_d, cnt_d, hits_c, cnt_c, torch.tensor(flags)])
    hits_d, cnt_d, hits_c, cnt_c, tail = distributed.all_reduce(packed).split([n_dom, n_dom, n_cls, n_cls, 3])
    if error is not None:
        raise error
    if tail[1] > 0:
        raise torch.cuda.OutOfMemoryError("Another process ran out of memory while evaluating.")
    if tail[2] > 0:
        raise DataError(f"Another process could not read its part of the {split} split.", "See its error.")

    def per(hits: torch.Tensor, cnt: torch.Tensor, names: list[str]) -> dict[str, float]:
        return {names[i]: float(hits[i] / cnt[i]) for i in range(len(names)) if cnt[i] > 0}

    return EvalResult(
        accuracy=float(hits_d.sum()) / n,
        loss=float(tail[0]) / n,
        per_domain=per(hits_d, cnt_d, list(dataset.domain_names)),
        per_class=per(hits_c, cnt_c, list(dataset.class_names)),
        n=n,
    )
