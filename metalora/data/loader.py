"""The :class:`~torch.utils.data.DataLoader` that training and evaluation stream a
:class:`~metalora.data.streaming.StreamingDataset` through.

The caller decides the batches (lists of indices: this process's share of each shuffled global batch
in training, its shard in evaluation), so the order is exactly that of the in-memory path and comes
from the run's own seeded generator; the loader only reads the images, in ``num_workers`` worker
processes when there are any, into pinned memory when the batches go to a GPU.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import MetaLoRAError
from .streaming import StreamingDataset

__all__ = ["default_num_workers", "iterate_batches"]


def default_num_workers(cpus: int | None = None) -> int:
    """Worker processes for streaming when none are asked for: 0 on a machine of 1 or 2 CPUs (a worker
    would compete with the training step for the only other core, and start-up costs more than it
    gains), else ``min(4, cpus - 1)`` (one core left for the training step; more than four rarely helps
    decoding small images)."""
    if cpus is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # macOS, Windows
            cpus = os.cpu_count() or 1
    return 0 if cpus <= 2 else min(4, cpus - 1)


class _Items(Dataset):
    """``ds`` as the loader sees it: items of one epoch (the augmentation draws depend on it)."""

    def __init__(self, ds: StreamingDataset, epoch: int, seed: int):
        self.ds, self.epoch, self.seed = ds, int(epoch), int(seed)

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int):
        return self.ds.item(int(i), epoch=self.epoch, seed=self.seed)


_WORKER_LINE = re.compile(r"^(?:[\w.]+\.)?(\w+Error): (.*)$")


def _clean(err: MetaLoRAError) -> MetaLoRAError:
    """A worker's error re-raised by the loader carries the worker's traceback in its message; keep the
    user's one-line message (the last line), in an error of the same type."""
    text = str(err)
    if "Traceback" not in text:
        return err
    last = [ln for ln in text.strip().splitlines() if ln.strip()][-1]
    m = _WORKER_LINE.match(last.strip())
    return type(err)(m.group(2) if m else last.strip())


def iterate_batches(
    ds: StreamingDataset,
    batches: Sequence[Sequence[int]],
    *,
    num_workers: int | None = None,
    pin_memory: bool = False,
    epoch: int = 0,
    seed: int = 0,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Read ``batches`` (index lists into ``ds``) in order: ``(x (B, C, H, W), y (B,), domain (B,))``.

    Parameters
    ----------
    num_workers
        Worker processes (``None``: :func:`default_num_workers`); 0 reads in this process.
    pin_memory
        Page-locked batches, for fast copies to a CUDA device (use it only then).
    epoch, seed
        Passed to :meth:`~metalora.data.streaming.StreamingDataset.item` (augmentation draws).

    Raises
    ------
    MetaLoRAError
        A read failed (e.g. :class:`~metalora.errors.FileFormatError` for an unreadable image), with its
        own message even when the read happened in a worker.
    """
    workers = default_num_workers() if num_workers is None else max(0, int(num_workers))
    loader = DataLoader(
        _Items(ds, epoch, seed),
        batch_sampler=[[int(i) for i in b] for b in batches],
        num_workers=min(workers, len(batches)),
        pin_memory=bool(pin_memory),
        # the workers' seeds come from this generator, so torch's global one is not touched
        generator=torch.Generator().manual_seed(int(seed)),
    )
    try:
        yield from loader
    except MetaLoRAError as err:
        raise _clean(err) from None
