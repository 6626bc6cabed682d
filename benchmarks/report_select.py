"""Which saved runs a table of the method comparison reads, and their summaries (no training, no text).

Rows are the JSON objects of ``benchmarks/results/methods_runs.jsonl``. The learning rate of each
(cell, method, budget) is re-derived here from the seed-0 *validation* accuracies, so no table can use a
rate picked on the test split. Means and spreads come from :mod:`metalora.stats` (the one aggregation).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from metalora.stats import aggregate_runs, mean_std

__all__ = [
    "CELL_NAMES",
    "LONG_STUDIES",
    "accuracies",
    "best_val_lr",
    "by_keys",
    "completed",
    "diff_cell",
    "final_groups",
    "long_groups",
    "main_accs",
    "main_epochs",
    "mib",
    "pct",
    "summary",
    "sweep_groups",
]

CELL_NAMES = {
    "digits-4": "digits, 4 domains (clean, inverted, rotate90, mirror)",
    "digits-6": "digits, 6 domains (+ rotate180, noise)",
    "shapes-4": "shapes, 3 channels, 4 domains (clean, palette_warm, palette_cool, bg_stripes)",
}
LONG_KEY = ("backbone", "dataset", "method")
LONG_STUDIES = ("epochs", "epochs-tuned")


# ----------------------------------------------------------------------------- numbers as text
def pct(mean: float, sd: float, n: int | None = None) -> str:
    """``"81.2 ± 1.3"`` (percent; the spread left out when undefined, ``—`` without a mean)."""
    if not math.isfinite(mean):
        return "—"
    s = f"{100 * mean:.1f}"
    if math.isfinite(sd):
        s += f" ± {100 * sd:.1f}"
    return s


def diff_cell(a: Sequence[float], b: Sequence[float]) -> tuple[str, float, float]:
    """``mean(a) - mean(b)`` in points with its standard error; the text marks |diff| > 2 SE."""
    ma, sa, na = mean_std(a)
    mb, sb, nb = mean_std(b)
    if not (na and nb):
        return "—", float("nan"), float("nan")
    d = ma - mb
    se = math.sqrt((sa**2 / na if na > 1 else 0) + (sb**2 / nb if nb > 1 else 0))
    mark = " *" if se > 0 and abs(d) > 2 * se else ""
    return f"{100 * d:+.1f} ± {100 * se:.1f}{mark}", d, se


def mib(b: float) -> str:
    return f"{b / 2**20:.0f}" if math.isfinite(b) else "—"


# ----------------------------------------------------------------------------- selection
def completed(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The runs that finished (a diverged run is counted elsewhere, never averaged)."""
    return [r for r in rows if r.get("status") == "completed"]


def accuracies(rows: Sequence[Mapping[str, Any]]) -> list[float]:
    """Test accuracies of the completed runs."""
    return [r["accuracy"] for r in completed(rows)]


def by_keys(rows, keys: Sequence[str]) -> dict[tuple, list]:
    """Rows grouped by the values of ``keys``, in order of first appearance."""
    out: dict[tuple, list] = defaultdict(list)
    for r in rows:
        out[tuple(r[k] for k in keys)].append(r)
    return out


def best_val_lr(tuning: Sequence[Mapping[str, Any]]) -> float:
    """The rate of the run with the best validation accuracy (a failed run counts as -1; ties: smaller rate)."""
    return min(
        (-(r.get("val_accuracy", -1.0) if r["status"] == "completed" else -1.0), r["lr"]) for r in tuning
    )[1]


def final_groups(rows: Sequence[Mapping[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """(backbone, dataset, method, budget) -> {"lr", "rank", "rows"}: the runs at the rate chosen on val."""
    main = [r for r in rows if r.get("study") == "main"]
    out = {}
    for cell, rs in by_keys(main, ("backbone", "dataset", "method", "budget")).items():
        tuning = [r for r in rs if r["seed"] == 0]
        if not tuning:
            continue
        lr = best_val_lr(tuning)
        chosen = sorted((r for r in rs if r["lr"] == lr), key=lambda r: r["seed"])
        out[cell] = {
            "lr": lr,
            "rank": chosen[0]["rank"],
            "rows": chosen,
            "tuning": sorted(tuning, key=lambda r: r["lr"]),
        }
    return out


def summary(group: Mapping[str, Any]) -> dict[str, Any]:
    """Mean, spread and n (:func:`metalora.stats.aggregate_runs`) of a group's completed runs, and its costs."""
    ok = completed(group["rows"])
    domains = sorted({d for r in ok for d in r.get("per_domain", {})}, key=lambda d: (d != "clean", d))
    metrics = ["accuracy", "train_time_s", "peak_memory_bytes", *(f"per_domain.{d}" for d in domains)]
    agg = aggregate_runs(ok, by=(), metrics=metrics)[0] if ok else {}

    def stat(metric: str) -> tuple[float, float, int]:
        return tuple(
            agg.get(f"{metric}_{s}", d) for s, d in (("mean", math.nan), ("std", math.nan), ("n", 0))
        )

    return {
        "acc": stat("accuracy"),
        "accs": [r["accuracy"] for r in ok],
        "failed": len(group["rows"]) - len(ok),
        "domains": {d: stat(f"per_domain.{d}") for d in domains},
        "trainable": ok[0]["trainable"] if ok else None,
        "flops": ok[0]["flops"] if ok else None,
        "flops_base": ok[0]["flops_base"] if ok else None,
        "time": stat("train_time_s"),
        "mem": stat("peak_memory_bytes"),
    }


def main_accs(groups, r0: Mapping[str, Any], method: str) -> list[float]:
    """Test accuracies of ``method`` in the main grid, in the cell and budget of the run ``r0``."""
    g = groups.get((r0["backbone"], r0["dataset"], method, r0["budget"]))
    return accuracies(g["rows"]) if g else []


def main_epochs(rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """The epoch counts of the main grid's runs (one, normally)."""
    return sorted({r["epochs"] for r in rows if r.get("study") == "main"})


def sweep_groups(rows) -> dict[tuple, list]:
    """(method, rank) -> the rank sweep's completed runs at the rate with seed 0's best val accuracy."""
    by: dict[tuple, list] = {}
    for key, rs in by_keys([r for r in rows if r.get("study") == "rank-sweep"], ("method", "rank")).items():
        tuning = [r for r in rs if r["seed"] == 0]
        if tuning:
            by[key] = [r for r in completed(rs) if r["lr"] == best_val_lr(tuning)]
    return by


def long_groups(rows) -> dict[tuple, dict[str, Any]]:
    """(backbone, dataset, method) -> the long runs at the main grid's rate, and at the rate re-tuned for that
    length (``lr`` None when fewer than two rates were tried at seed 0: nothing was re-tuned)."""
    out = {}
    for key, rs in by_keys([r for r in rows if r.get("study") in LONG_STUDIES], LONG_KEY).items():
        tuning = [r for r in rs if r["seed"] == 0]
        best = best_val_lr(tuning) if len({r["lr"] for r in tuning}) > 1 else None
        out[key] = {
            "main_rate": [r for r in completed(rs) if r["study"] == "epochs"],
            "lr": best,
            "tuned": [r for r in completed(rs) if r["lr"] == best] if best is not None else [],
        }
    return out
