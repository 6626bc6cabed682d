"""What an adapter costs: parameters, FLOPs, latency, peak memory and storage, plus run tables.

* FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode``: 2 × the multiply-accumulates of
  convolutions and matrix products (the usual convention); element-wise work (bias, activations,
  normalisation) is not counted. For a MetaLoRA model the adapted count includes the feature pass that
  produces the scaling factors, so the "extra" FLOPs are the real inference overhead.
* Latency is the median of repeated forward passes of one batch (after warm-up). To compare models, time
  them together (:func:`compare_latency`): in turns on the same batch, each round running every model once,
  so a busy machine slows all of them alike, and the difference is the median of the per-round differences.
* Peak memory is the CUDA allocator's peak on a GPU; on a CPU the process's resident memory, sampled
  during the pass (the increase over the level before it is reported as the pass's own cost).
* Storage compares the adapter's files (``save_adapter``) with a full fine-tuned copy of the model
  saved as safetensors: what each extra task costs on disk.

Tables of runs (the Pareto front, the summaries the accuracy figures draw) are in :mod:`.runs`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError, DataError
from ..measure import count_flops, count_parameters
from ._common import model_device, to_jsonable

__all__ = [
    "CostReport",
    "LatencyComparison",
    "compare_latency",
    "cost_report",
    "count_flops",
    "flops_per_input",
    "measure_latency",
    "measure_peak_memory",
    "measure_storage",
]


def _is_adapted(model) -> bool:
    return hasattr(model, "adapted_layers") and hasattr(model, "adapters_disabled")


@torch.no_grad()
def flops_per_input(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """FLOPs per input of the frozen base and of the adapted model (feature pass included).

    Returns ``{"base", "adapted", "extra", "feature_pass"}`` (a plain module: base = adapted).
    """
    b = max(1, x.shape[0])
    x = x.to(model_device(model))
    adapted = count_flops(model, x) / b
    if not _is_adapted(model):
        return {"base": adapted, "adapted": adapted, "extra": 0.0, "feature_pass": 0.0}
    with model.adapters_disabled():
        base = count_flops(model.base_model, x) / b
    feature = 0.0
    if model.config.meta:
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            model.features(x)
        feature = counter.get_total_flops() / b
    return {"base": base, "adapted": adapted, "extra": adapted - base, "feature_pass": feature}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def measure_latency(model: nn.Module, x: torch.Tensor, repeats: int = 5, warmup: int = 1) -> dict:
    """Median (and spread) of the wall time of one forward pass on the batch ``x``."""
    device = model_device(model)
    x = x.to(device)
    was_training = model.training
    model.eval()
    times = []
    try:
        for i in range(max(0, warmup) + max(1, repeats)):
            _sync(device)
            t0 = time.perf_counter()
            model(x)
            _sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    finally:
        model.train(was_training)
    times.sort()
    med = statistics.median(times)
    return {
        "median_s": med,
        "min_s": times[0],
        "max_s": times[-1],
        "repeats": len(times),
        "batch_size": int(x.shape[0]),
        "per_input_ms": 1000.0 * med / max(1, x.shape[0]),
        "device": str(device),
    }


@dataclass(frozen=True)
class LatencyComparison:
    """Models timed in turns on one batch (:func:`compare_latency`); every time is seconds per batch.

    ``diff_s[name]`` is the paired figure: the median over the rounds of ``name``'s time minus the
    reference's time in the same round (each round saw one load of the machine), ``diff_iqr_s[name]``
    the interquartile range of those per-round differences (0 with one round). Both are given for every
    model but the reference; ``median_s`` (every model's own median) is what each took, not the paired
    difference (the difference of two medians is not the median of the differences).
    """

    median_s: dict[str, float]
    diff_s: dict[str, float]
    diff_iqr_s: dict[str, float]
    times_s: dict[str, list[float]]  # per model, one time per round, in the rounds' order
    reference: str
    rounds: int
    batch_size: int
    device: str

    def per_input_s(self, seconds: float) -> float:
        """A time of the batch as the time of one of its inputs."""
        return seconds / self.batch_size

    def to_dict(self) -> dict:
        return to_jsonable(self)


def _iqr(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q3 - q1


def compare_latency(
    models: Mapping[str, nn.Module],
    x: torch.Tensor,
    repeats: int = 9,
    warmup: int = 1,
    reference: str | None = None,
) -> LatencyComparison:
    """Time ``models`` against each other on the batch ``x``: a paired measurement.

    Each of ``warmup`` untimed rounds and then ``repeats`` timed rounds runs every model once on the same
    batch, in the mapping's order in even rounds and in reverse in odd ones (so no model always runs
    first, or always right after another), in eval mode under ``torch.inference_mode`` (each model's
    training flag is restored after), synchronising the device around every pass on CUDA. The difference
    of each model to ``reference`` (default: the first model) is taken round by round, so a busy computer,
    which slows every model of a round alike, moves it far less than it moves two separate measurements.

    :class:`~metalora.errors.ConfigError` for no models, an unknown ``reference``, ``repeats < 1`` or
    ``warmup < 0``; :class:`~metalora.errors.DataError` for an empty batch.
    """
    names = list(models)
    if not names:
        raise ConfigError("There are no models to time.", "Pass a mapping of at least one name to a model.")
    reference = names[0] if reference is None else reference
    if reference not in models:
        raise ConfigError(f"Unknown reference model {reference!r}.", f"Use one of: {', '.join(names)}.")
    if int(repeats) < 1:
        raise ConfigError(f"repeats={repeats} must be at least 1.", "Time at least one round.")
    if int(warmup) < 0:
        raise ConfigError(f"warmup={warmup} must not be negative.", "Use 0 for no warm-up round.")
    if x.ndim < 1 or x.shape[0] == 0:
        raise DataError(
            f"The batch to time has shape {tuple(x.shape)}: no inputs.", "Pass a batch of at least one input."
        )
    devices = {name: model_device(m) for name, m in models.items()}
    inputs = {d: x.to(d) for d in set(devices.values())}
    times: dict[str, list[float]] = {name: [] for name in names}
    modes = {name: m.training for name, m in models.items()}
    try:
        for m in models.values():
            m.eval()
        with torch.inference_mode():
            for i in range(int(warmup) + int(repeats)):
                timed = i - int(warmup)  # the timed rounds start in the mapping's order
                for name in names if timed % 2 == 0 else reversed(names):
                    device = devices[name]
                    _sync(device)
                    t0 = time.perf_counter()
                    models[name](inputs[device])
                    _sync(device)
                    if timed >= 0:
                        times[name].append(time.perf_counter() - t0)
    finally:
        for name, m in models.items():
            m.train(modes[name])
    diffs = {
        name: [a - b for a, b in zip(times[name], times[reference], strict=True)]
        for name in names
        if name != reference
    }
    return LatencyComparison(
        median_s={name: statistics.median(times[name]) for name in names},
        diff_s={name: statistics.median(d) for name, d in diffs.items()},
        diff_iqr_s={name: _iqr(d) for name, d in diffs.items()},
        times_s=times,
        reference=reference,
        rounds=int(repeats),
        batch_size=int(x.shape[0]),
        device=", ".join(sorted({str(d) for d in devices.values()})),
    )


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


@torch.no_grad()
def measure_peak_memory(model: nn.Module, x: torch.Tensor, interval_s: float = 0.001) -> dict:
    """Peak memory of one forward pass on ``x``.

    CUDA: ``torch.cuda.max_memory_allocated`` (weights included) and its increase over the level before
    the pass. CPU (Linux): the resident set size sampled every ``interval_s`` during the pass.
    """
    device = model_device(model)
    x = x.to(device)
    was_training = model.training
    model.eval()
    try:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            before = torch.cuda.memory_allocated(device)
            model(x)
            torch.cuda.synchronize(device)
            peak = torch.cuda.max_memory_allocated(device)
            return {"peak_bytes": int(peak), "extra_bytes": int(peak - before), "kind": "cuda allocator"}
        before = _rss_bytes()
        if before is None:
            model(x)
            return {"peak_bytes": None, "extra_bytes": None, "kind": "unavailable on this system"}
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _rss_bytes() or 0)
                done.wait(interval_s)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            model(x)
        finally:
            done.set()
            thread.join()
        peak[0] = max(peak[0], _rss_bytes() or 0)
        return {"peak_bytes": int(peak[0]), "extra_bytes": int(peak[0] - before), "kind": "process RSS"}
    finally:
        model.train(was_training)


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure_storage(model: nn.Module) -> dict:
    """Bytes on disk of the adapter (``save_adapter``) and of a full fine-tuned copy (safetensors)."""
    from safetensors.torch import save_file

    with tempfile.TemporaryDirectory(prefix="metalora-size-") as tmp:
        tmp = Path(tmp)
        base = model.base_model if _is_adapted(model) else model
        state = {
            k: v.detach().contiguous().clone().cpu()
            for k, v in base.state_dict().items()
            if ".adapter_" not in k and not k.startswith("adapter_")
        }
        save_file(state, str(tmp / "full.safetensors"))
        full = (tmp / "full.safetensors").stat().st_size
        adapter = None
        if _is_adapted(model):
            model.save_adapter(tmp / "adapter")
            adapter = _dir_bytes(tmp / "adapter")
    return {
        "adapter_bytes": adapter,
        "full_bytes": full,
        "ratio": (adapter / full) if adapter else None,
    }


@dataclass
class CostReport:
    """All the costs of one model on one batch (see the module docstring for how each is measured)."""

    trainable: int
    total: int
    flops_base: float
    flops_adapted: float
    flops_extra: float
    flops_feature_pass: float
    latency_s: float
    latency_base_s: float | None
    peak_memory_bytes: int | None
    peak_memory_extra_bytes: int | None
    memory_kind: str
    adapter_bytes: int | None
    full_bytes: int
    batch_size: int
    device: str

    def row(self) -> dict:
        """A flat dict for a run table (``flops`` = adapted FLOPs per input)."""
        d = to_jsonable(self)
        d["flops"] = self.flops_adapted
        return d

    def to_dict(self) -> dict:
        return to_jsonable(self)


def cost_report(model: nn.Module, x: torch.Tensor, repeats: int = 5, warmup: int = 1) -> CostReport:
    """Measure every cost of ``model`` on the batch ``x`` (parameters, FLOPs, latency, memory, storage).

    FLOPs are counted on the first input alone (they do not depend on the batch); latency and memory
    on the whole batch.
    """
    trainable, total = model.count_parameters() if _is_adapted(model) else count_parameters(model)
    flops = flops_per_input(model, x[:1])
    latency = measure_latency(model, x, repeats, warmup)
    base_latency = None
    if _is_adapted(model):
        with model.adapters_disabled():
            base_latency = measure_latency(model.base_model, x, repeats, warmup)["median_s"]
    memory = measure_peak_memory(model, x)
    storage = measure_storage(model)
    return CostReport(
        trainable=int(trainable),
        total=int(total),
        flops_base=flops["base"],
        flops_adapted=flops["adapted"],
        flops_extra=flops["extra"],
        flops_feature_pass=flops["feature_pass"],
        latency_s=latency["median_s"],
        latency_base_s=base_latency,
        peak_memory_bytes=memory["peak_bytes"],
        peak_memory_extra_bytes=memory["extra_bytes"],
        memory_kind=memory["kind"],
        adapter_bytes=storage["adapter_bytes"],
        full_bytes=storage["full_bytes"],
        batch_size=int(x.shape[0]),
        device=latency["device"],
    )
