"""Process groups for ``torchrun --nproc_per_node=N -m metalora train``.

The training loop itself is :func:`~metalora.training.loop.fit`, the same one for one process and for
many. This module holds only what a process group needs: where this process sits in the job
(:class:`DistInfo`, :func:`from_env`), joining and leaving the group (:func:`setup`, :func:`shutdown`),
the few collectives the loop uses (:func:`all_reduce`), and wrapping the model in
DistributedDataParallel (:func:`wrap`; gloo on CPU, nccl on GPU). Every function here also works
without a process group, as the identity, so the loop has a single code path.

The caller (:func:`~metalora.training.run.train_run`) lets only the first process (index 0) write files and the registry.

A process's place in the job is its *index* (torch calls it the rank; here "rank" is only the adapter rank).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigError

__all__ = [
    "DistInfo",
    "active",
    "all_reduce",
    "describe",
    "from_env",
    "process_and_world",
    "setup",
    "shutdown",
    "wrap",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a ``torchrun`` job."""

    index: int  # torch's global rank
    world_size: int
    local_index: int  # torch's local rank: the GPU on this machine

    @property
    def is_main(self) -> bool:
        return self.index == 0


def from_env(env: dict | None = None) -> DistInfo | None:
    """The job read from ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` (set by torchrun); ``None`` when
    this process runs alone (no ``WORLD_SIZE``, or a world of one)."""
    env = os.environ if env is None else env
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        index = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(index)))
    except ValueError:
        return None
    return DistInfo(index, world, local) if world > 1 else None


def setup(info: DistInfo, device: str = "auto") -> torch.device:
    """Join the process group (once) and return this process's device: ``cuda:LOCAL_RANK`` with nccl when
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
    dev = torch.device("cuda", info.local_index) if use_cuda else None
    if dev is not None:
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=info.index, world_size=info.world_size)
    return dev if dev is not None else torch.device("cpu")


def shutdown(wait: bool = True) -> None:
    """Leave the process group (no-op when not in one); with ``wait``, first wait for every process
    (skip it after an error, when another process may never arrive)."""
    if active():
        try:
            if wait:
                dist.barrier()
        finally:
            dist.destroy_process_group()


def active() -> bool:
    """Whether this process is in an initialised process group (then the loop trains with DDP)."""
    return dist.is_available() and dist.is_initialized()


def process_and_world() -> tuple[int, int]:
    """``(index, world_size)`` of this process; ``(0, 1)`` without a process group."""
    return (dist.get_rank(), dist.get_world_size()) if active() else (0, 1)


def all_reduce(values: torch.Tensor | Sequence[float], op: str = "sum") -> torch.Tensor:
    """``values`` combined element-wise over all processes (``op`` is ``"sum"`` or ``"max"``).

    Every process of the group must call it with as many values. Returns a new 1-D float64 CPU tensor;
    without a process group, the values themselves. The tensor travels on the backend's device (the
    current GPU under nccl, the CPU under gloo).
    """
    out = torch.as_tensor(values, dtype=torch.float64).detach().cpu().flatten().clone()  # (V,)
    if not active():
        return out
    on = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else out.device
    moved = out.to(on)
    dist.all_reduce(moved, op={"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}[op])
    return moved.cpu()


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` in DistributedDataParallel (gradients averaged over processes in ``backward``), or the model
    itself without a process group. DDP first copies process 0's parameters and buffers to every process."""
    if not active():
        return model
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return DistributedDataParallel(model, device_ids=[index])
    return DistributedDataParallel(model)


def describe(device: torch.device) -> str:
    """The device as recorded for a run: ``"cpu"`` alone, ``"cpu x2 (gloo)"`` in a group of two."""
    if not active():
        return str(device)
    return f"{device} x{dist.get_world_size()} ({dist.get_backend()})"
