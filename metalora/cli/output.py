"""What the command line prints: table cells (:func:`fmt`), plain text tables (:func:`table`), a run's summary
rows (:func:`summary_rows`) and training progress on stderr (:class:`ProgressPrinter`)."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["SUMMARY_KEYS", "ProgressPrinter", "fmt", "summary_rows", "table"]

SUMMARY_KEYS = ("id", "created", "model", "dataset", "domains", "method", "rank", "seed", "status", "error")


def fmt(value: Any, kind: str = "") -> str:
    """One table cell: percentages, thousands separators, SI-scaled FLOPs / bytes, seconds."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "int":
        return f"{int(value):,}"
    if kind in ("si", "bytes"):
        v, unit = float(value), ""
        for unit in ("", "k", "M", "G", "T"):  # noqa: B007
            if abs(v) < 1000:
                break
            v /= 1000
        return f"{v:.1f} {unit}{'B' if kind == 'bytes' else ''}".strip()
    if kind == "s":
        return f"{value:.1f} s"
    if kind == "date":
        return str(value)[:19].replace("T", " ")
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A plain text table with columns padded to their widest cell (numbers right-aligned)."""
    cells = [list(map(str, header)), *[list(map(str, r)) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths, strict=True)
        ).rstrip()

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths), *map(line, cells[1:])])


def _numeric(cell: str) -> bool:
    return (bool(cell) and (cell[0].isdigit() or cell[0] in "-+.") and cell != "-") or cell.endswith("%")


def summary_rows(r: dict, per_class: bool = False) -> list[list[str]]:
    """Key / value rows of a run (a registry record, or a :class:`~metalora.training.run.RunResult` as a dict)."""
    metrics = r.get("metrics") or {}
    test = metrics.get("test") or {}
    rows = [
        [k, ", ".join(r[k]) if isinstance(r[k], list) else fmt(r[k])]
        for k in SUMMARY_KEYS
        if r.get(k) is not None
    ]
    rows += [["test accuracy", fmt(test.get("accuracy"), "pct")]]
    rows += [[f"  {d}", fmt(a, "pct")] for d, a in (test.get("per_domain") or {}).items()]
    rows += [[f"  class {c}", fmt(a, "pct")] for c, a in (test.get("per_class") or {}).items() if per_class]
    params = f"{fmt(r.get('trainable_params'), 'int')} / {fmt(r.get('total_params'), 'int')}"
    return [
        *rows,
        ["trainable / total params", params],
        [
            "FLOPs per input",
            f"{fmt(r.get('flops'), 'si')} (frozen base: {fmt(metrics.get('flops_base'), 'si')})",
        ],
        ["training time", fmt(r.get("train_time_s"), "s")],
        ["peak memory", fmt(r.get("peak_memory_bytes"), "bytes")],
        ["device", fmt(r.get("device"))],
        ["saved to", fmt(r.get("adapter_path"))],
    ]


class ProgressPrinter:
    """Writes training progress to stderr: a redrawn bar on a terminal, else a line per epoch / 10 s."""

    def __init__(self, stream=None, quiet: bool = False, width: int = 24):
        self.stream = stream or sys.stderr
        self.quiet, self.width = quiet, width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.prefix, self._last = "", 0.0

    def __call__(self, p) -> None:  # p: metalora.training.Progress
        if self.quiet:
            return
        filled = round(p.fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        val = f" val {100 * p.val_acc:.1f}%" if p.val_acc is not None else ""
        text = (
            f"{self.prefix}[{bar}] {100 * p.fraction:3.0f}% epoch {p.epoch}/{p.epochs} step {p.step}/"
            f"{p.steps_per_epoch} loss {p.loss:.3f} acc {100 * p.train_acc:.1f}%{val} eta {p.eta_s:.0f}s"
        )
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + text[:200].ljust(100) + ("\n" if p.fraction >= 1 else ""))
        elif p.epoch_end or now - self._last > 10:
            self.stream.write(text + "\n")
        else:
            return
        self._last = now
        self.stream.flush()

    def note(self, text: str) -> None:
        """One line of its own (not redrawn)."""
        if not self.quiet:
            self.stream.write(text + "\n")
            self.stream.flush()
