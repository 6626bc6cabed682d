"""What every benchmark script shares: the device label, timing, the CPU allocator, markdown blocks.

The scripts (``bench_layers.py``, ``bench_training.py``, ``bench_methods.py``) print tables and put them
between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers in a markdown file (:func:`write_block`),
so a rerun replaces its own block and leaves the rest of the file alone. The PEFT peer methods are in
:mod:`peft_methods`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path

import torch

from metalora.device import DEVICE_CHOICES

__all__ = [
    "DEVICE_HELP",
    "allocator_label",
    "device_label",
    "interleaved_medians",
    "markers",
    "randomise_factors",
    "replace_block",
    "steady_allocator",
    "sync",
    "write_block",
]

# Every benchmark run times the adapters' contractions afresh (a choice cached while the machine was busy would
# otherwise outlive the load that made it): the planner's cache lives in a folder of this run's own, which the
# scripts' child processes inherit.
os.environ.setdefault("METALORA_CACHE_DIR", tempfile.mkdtemp(prefix="metalora-bench-cache-"))

DEVICE_HELP = f"{', '.join(DEVICE_CHOICES)} or cuda:N (auto: CUDA, then Apple MPS, then the CPU)"


def cpu_name() -> str:
    """``"AMD EPYC, AVX2"``: the processor's model and the widest vector instructions torch uses on it.

    Ratios between contractions change with both (the same code and benchmark gave different ratios on
    different machines), so every CPU table says which it was measured on."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    model = model or platform.processor() or platform.machine() or "cpu"
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")()
    return f"{model}, {capability}" if capability else model


def device_name(device: torch.device) -> str:
    """``"NVIDIA H200"`` / ``"AMD EPYC, AVX2"``: what the device is."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()


def device_label(device: torch.device) -> str:
    """``"cuda (NVIDIA H200)"`` / ``"cpu (AMD EPYC, AVX2)"``: the device and what it is, for a table's caption."""
    return f"{device} ({device_name(device)})"


def sync(device: torch.device) -> None:
    """Wait for the GPU, so that a timer reads the work and not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def interleaved_medians(
    fns: dict, device: torch.device, repeats: int, warmup: int = 2
) -> dict[object, float]:
    """Median milliseconds of each function, timed round-robin so that background load hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync(device)
    times: dict[object, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[key].append(time.perf_counter() - t0)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def randomise_factors(module: torch.nn.Module, prefix: str = "adapter_", std: float = 0.1) -> None:
    """Draw every parameter whose name starts with ``prefix`` from N(0, std²): no zero factor, so every
    gradient is computed, as after the first training step (``"lora_"`` for PEFT's layers)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith(prefix):
                p.normal_(0, std)


# ----------------------------------------------------------------------------- CPU allocator
def steady_allocator() -> bool:
    """Make glibc keep freed memory for reuse (no ``mmap`` for large blocks, no trimming), so that timings do
    not include the page faults of freshly mapped activations. True if it took effect (Linux with glibc)."""
    path = ctypes.util.find_library("c")
    if platform.system() != "Linux" or not path:
        return False
    try:
        mallopt = ctypes.CDLL(path).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # from <malloc.h>
    return mallopt(m_mmap_max, 0) == 1 and mallopt(m_trim_threshold, 2**31 - 1) == 1


def allocator_label(steady: bool) -> str:
    """How the CPU allocator ran, for a table's caption."""
    return "freed memory kept in the process" if steady else "the system's default"


# ----------------------------------------------------------------------------- markdown blocks
def markers(name: str) -> tuple[str, str]:
    """The start and end comments of the block ``name``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with the block ``name`` holding ``body``; a text without the block gets it at its end."""
    start, end = markers(name)
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    return (text.rstrip() + "\n\n" if text.strip() else "") + block + "\n"


def write_block(path: Path, name: str, body: str, new_file: str = "") -> None:
    """Put ``body`` into the block ``name`` of the markdown file ``path`` (created from ``new_file``)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else new_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_block(text, name, body), encoding="utf-8")
