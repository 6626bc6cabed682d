"""Turn the runs of ``bench_methods.py`` into ``docs/results.md`` tables and one HTML file of figures.

Pure bookkeeping: no training. Rows are the JSON objects of ``benchmarks/results/methods_runs.jsonl``.
The learning rate of each (cell, method, budget) is re-derived here from the seed-0 *validation*
accuracies, so the tables cannot use a rate picked on the test split.
"""

from __future__ import annotations

import math
import platform
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

START, END = "<!-- bench_methods:start -->", "<!-- bench_methods:end -->"
README_START, README_END = "<!-- bench_methods_main:start -->", "<!-- bench_methods_main:end -->"
CELL_NAMES = {
    "digits-4": "digits, 4 domains (clean, inverted, rotate90, mirror)",
    "digits-6": "digits, 6 domains (+ rotate180, noise)",
    "shapes-4": "shapes, 3 channels, 4 domains (clean, palette_warm, palette_cool, bg_stripes)",
}


# ----------------------------------------------------------------------------- statistics
def stats(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (NaN for one value) and n."""
    a = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if not len(a):
        return float("nan"), float("nan"), 0
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else float("nan"), len(a)


def pct(mean: float, sd: float, n: int | None = None) -> str:
    if not math.isfinite(mean):
        return "—"
    s = f"{100 * mean:.1f}"
    if math.isfinite(sd):
        s += f" ± {100 * sd:.1f}"
    return s


def diff_cell(a: Sequence[float], b: Sequence[float]) -> tuple[str, float, float]:
    """``mean(a) - mean(b)`` in points with its standard error; the text marks |diff| > 2 SE."""
    ma, sa, na = stats(a)
    mb, sb, nb = stats(b)
    if not (na and nb):
        return "—", float("nan"), float("nan")
    d = ma - mb
    se = math.sqrt((sa**2 / na if na > 1 else 0) + (sb**2 / nb if nb > 1 else 0))
    mark = " *" if se > 0 and abs(d) > 2 * se else ""
    return f"{100 * d:+.1f} ± {100 * se:.1f}{mark}", d, se


def mib(b: float) -> str:
    return f"{b / 2**20:.0f}" if math.isfinite(b) else "—"


# ----------------------------------------------------------------------------- selection
def best_val_lr(tuning: Sequence[Mapping[str, Any]]) -> float:
    """The rate of the run with the best validation accuracy (a failed run counts as -1; ties: smaller rate)."""
    return min(
        (-(r.get("val_accuracy", -1.0) if r["status"] == "completed" else -1.0), r["lr"]) for r in tuning
    )[1]


def final_groups(rows: Sequence[Mapping[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """(backbone, dataset, method, budget) -> {"lr", "rank", "rows"}: the runs at the rate chosen on val."""
    main = [r for r in rows if r.get("study") == "main"]
    by_cell: dict[tuple, list] = defaultdict(list)
    for r in main:
        by_cell[(r["backbone"], r["dataset"], r["method"], r["budget"])].append(r)
    out = {}
    for cell, rs in by_cell.items():
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


def _ok(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("status") == "completed"]


def summary(group: Mapping[str, Any]) -> dict[str, Any]:
    ok = _ok(group["rows"])
    acc = stats([r["accuracy"] for r in ok])
    domains = sorted({d for r in ok for d in r.get("per_domain", {})}, key=lambda d: (d != "clean", d))
    return {
        "acc": acc,
        "accs": [r["accuracy"] for r in ok],
        "failed": len(group["rows"]) - len(ok),
        "domains": {d: stats([r["per_domain"].get(d, float("nan")) for r in ok]) for d in domains},
        "trainable": ok[0]["trainable"] if ok else None,
        "flops": ok[0]["flops"] if ok else None,
        "flops_base": ok[0]["flops_base"] if ok else None,
        "time": stats([r["train_time_s"] for r in ok]),
        "mem": stats([r["peak_memory_bytes"] for r in ok]),
    }


# ----------------------------------------------------------------------------- tables
def cell_table(
    groups: Mapping[tuple, Mapping], backbone: str, dataset: str, methods: Sequence[str], labels: Mapping
) -> list[str]:
    keys = [
        (backbone, dataset, m, b)
        for b in (None, "small", "large")
        for m in methods
        if (backbone, dataset, m, b) in groups
    ]
    if not keys:
        return []
    domains = list(summary(groups[keys[0]])["domains"])
    head = ["method", "budget", "rank", "trainable", "lr (val)", "test accuracy %", *domains, "GFLOPs / input",
            "train s", "peak MiB"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in keys:
        g, s = groups[k], summary(groups[k])
        flops = f"{s['flops'] / 1e9:.4f}" if s["flops"] else "—"
        row = [
            labels.get(k[2], k[2]),
            k[3] or "—",
            str(g["rank"] or "—"),
            f"{s['trainable']:,}" if s["trainable"] is not None else "—",
            f"{g['lr']:g}",
            pct(*s["acc"]) + f" (n={s['acc'][2]}" + (f", {s['failed']} failed" if s["failed"] else "") + ")",
            *[pct(*s["domains"][d]) for d in domains],
            flops,
            f"{s['time'][0]:.1f}",
            mib(s["mem"][0]),
        ]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def overview_table(groups, cells, methods, labels, budget: str) -> list[str]:
    head = ["method", *[f"{bb} · {ds}" for bb, ds in cells]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in methods:
        b = None if m in ("head", "full") else budget
        cols = []
        for bb, ds in cells:
            g = groups.get((bb, ds, m, b))
            cols.append(pct(*summary(g)["acc"]) if g else "—")
        if any(c != "—" for c in cols):
            lines.append("| " + " | ".join([labels.get(m, m), *cols]) + " |")
    return lines


def conditioning_table(groups, cells, budgets) -> tuple[list[str], list[str]]:
    """MetaLoRA vs the same format with a static core; and the cells where MetaLoRA does not beat LoRA."""
    head = ["cell", "budget", "MetaLoRA-TR − TR", "MetaLoRA-CP − CP", "best MetaLoRA − LoRA"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    losses = []
    for bb, ds in cells:
        for b in budgets:

            def accs(m, bb=bb, ds=ds, b=b):
                g = groups.get((bb, ds, m, b))
                return [r["accuracy"] for r in _ok(g["rows"])] if g else []

            tr, _, _ = diff_cell(accs("meta-tr"), accs("tr"))
            cp, _, _ = diff_cell(accs("meta-cp"), accs("cp"))
            best = max(("meta-tr", "meta-cp"), key=lambda m: stats(accs(m))[0] if accs(m) else -1)
            vs, d, se = diff_cell(accs(best), accs("lora"))
            lines.append(f"| {bb} · {ds} | {b} | {tr} | {cp} | {vs} ({best}) |")
            if math.isfinite(d) and d <= 2 * se:
                losses.append(
                    f"- {bb} · {ds}, {b} budget: {best} {'is below' if d < 0 else 'is not clearly above'} "
                    f"LoRA ({100 * d:+.1f} ± {100 * se:.1f} points)."
                )
    return lines, losses


def _by(rows, keys: Sequence[str]) -> dict[tuple, list]:
    out: dict[tuple, list] = defaultdict(list)
    for r in rows:
        out[tuple(r[k] for k in keys)].append(r)
    return out


def sweep_groups(rows) -> dict[tuple, list]:
    """(method, rank) -> the rank sweep's completed runs at the rate with seed 0's best val accuracy."""
    by: dict[tuple, list] = {}
    for key, rs in _by([r for r in rows if r.get("study") == "rank-sweep"], ("method", "rank")).items():
        tuning = [r for r in rs if r["seed"] == 0]
        if tuning:
            by[key] = [r for r in _ok(rs) if r["lr"] == best_val_lr(tuning)]
    return by


def sweep_table(rows, labels) -> list[str]:
    by = sweep_groups(rows)
    sweep = [r for rs in by.values() for r in rs]
    if not sweep:
        return []
    ranks = sorted({k[1] for k in by})
    methods = sorted({k[0] for k in by}, key=lambda m: m != "lora")
    lines = ["| method | " + " | ".join(f"rank {r}" for r in ranks) + " |", "|---|" + "---|" * len(ranks)]
    for m in methods:
        cells = []
        for rk in ranks:
            rs = by.get((m, rk), [])
            if rs:
                cells.append(
                    f"{pct(*stats([r['accuracy'] for r in rs]))} ({rs[0]['trainable']:,} p., lr {rs[0]['lr']:g})"
                )
            else:
                cells.append("—")
        lines.append(f"| {labels.get(m, m)} | " + " | ".join(cells) + " |")
    first = sweep[0]
    lines.append("")
    lines.append(
        f"({first['backbone']} · {first['dataset']}, test accuracy % mean ± std over seeds, trainable "
        f"parameters and the rate chosen on validation for that rank in brackets.)"
    )
    return lines


def _main_accs(groups, r0: Mapping[str, Any], method: str) -> list[float]:
    g = groups.get((r0["backbone"], r0["dataset"], method, r0["budget"]))
    return [r["accuracy"] for r in _ok(g["rows"])] if g else []


def variant_table(rows, groups, labels, study: str, variant: str) -> list[str]:
    """MetaLoRA as in the main grid vs one changed setting (the ``study`` runs), per cell and method."""
    runs = [r for r in _ok(rows) if r.get("study") == study]
    if not runs:
        return []
    lines = [
        f"| cell | method | rank | as in the main grid | {variant} | difference |",
        "|---|---|---|---|---|---|",
    ]
    for key in dict.fromkeys((r["backbone"], r["dataset"], r["method"]) for r in runs):
        mine = [r for r in runs if (r["backbone"], r["dataset"], r["method"]) == key]
        g = groups.get((*key, mine[0]["budget"]))
        base, other = _main_accs(groups, mine[0], key[2]), [r["accuracy"] for r in mine]
        rank = (
            f"{g['rank']} → {mine[0]['rank']}" if g and g["rank"] != mine[0]["rank"] else str(mine[0]["rank"])
        )
        lines.append(
            f"| {key[0]} · {key[1]} | {labels.get(key[2], key[2])} | {rank} | {pct(*stats(base))} | "
            f"{pct(*stats(other))} | {diff_cell(other, base)[0]} |"
        )
    return lines


LONG_KEY = ("backbone", "dataset", "method")
LONG_STUDIES = ("epochs", "epochs-tuned")


def long_groups(rows) -> dict[tuple, dict[str, Any]]:
    """(backbone, dataset, method) -> the long runs at the main grid's rate, and at the rate re-tuned for that
    length (``lr`` None when fewer than two rates were tried at seed 0: nothing was re-tuned)."""
    out = {}
    for key, rs in _by([r for r in rows if r.get("study") in LONG_STUDIES], LONG_KEY).items():
        tuning = [r for r in rs if r["seed"] == 0]
        best = best_val_lr(tuning) if len({r["lr"] for r in tuning}) > 1 else None
        out[key] = {
            "main_rate": [r for r in _ok(rs) if r["study"] == "epochs"],
            "lr": best,
            "tuned": [r for r in _ok(rs) if r["lr"] == best] if best is not None else [],
        }
    return out


def epochs_table(rows, groups, labels) -> list[str]:
    """3 epochs (main grid) vs ``long_epochs`` at the main grid's rate and at a rate re-tuned for the length;
    then, at the long length and re-tuned rates, MetaLoRA against the static cores and LoRA."""
    by = long_groups(rows)
    long = max((r["epochs"] for g in by.values() for r in g["main_rate"] + g["tuned"]), default=None)
    if long is None:
        return []
    lines = [
        f"| cell | method | rank | main grid | {long} epochs, main grid's rate | {long} epochs, re-tuned rate "
        f"| re-tuned − main grid |",
        "|---|---|---|---|---|---|---|",
    ]
    for (bb, ds, m), g in by.items():
        runs = g["tuned"] or g["main_rate"]
        if not runs:
            continue
        r0 = runs[0]
        main = _main_accs(groups, r0, m)
        at_main = [r["accuracy"] for r in g["main_rate"]]
        tuned = [r["accuracy"] for r in g["tuned"]]
        lines.append(
            f"| {bb} · {ds} | {labels.get(m, m)} | {r0['rank'] if r0['rank'] is not None else '—'} "
            f"| {pct(*stats(main))} "
            f"| {pct(*stats(at_main))}"
            + (f" (n={len(at_main)})" if 0 < len(at_main) < len(tuned) else "")
            + (f" (lr {g['main_rate'][0]['lr']:g})" if at_main else "")
            + (
                f" | {pct(*stats(tuned))} (lr {g['lr']:g}) | {diff_cell(tuned, main)[0]} |"
                if tuned
                else " | — | — |"
            )
        )
    pairs = [("meta-cp", "cp"), ("meta-tr", "tr"), ("meta-cp", "lora"), ("meta-tr", "lora")]
    present = [(a, b) for a, b in pairs if any(k[2] == a for k in by) and any(k[2] == b for k in by)]
    tuned_any = any(g["tuned"] for g in by.values())
    if present and tuned_any:
        lines += [
            "",
            f"At {long} epochs with re-tuned rates, differences in accuracy points (± standard error; `*`: beyond 2):",
            "",
            "| cell | " + " | ".join(f"{labels.get(a, a)} − {labels.get(b, b)}" for a, b in present) + " |",
            "|---|" + "---|" * len(present),
        ]
        for bb, ds in dict.fromkeys((k[0], k[1]) for k in by):

            def accs(m, bb=bb, ds=ds):
                return [r["accuracy"] for r in by.get((bb, ds, m), {}).get("tuned", [])]

            cells = [diff_cell(accs(a), accs(b))[0] for a, b in present]
            lines.append(f"| {bb} · {ds} | " + " | ".join(cells) + " |")
    return lines


def alpha_table(rows, groups, labels) -> list[str]:
    """Accuracy at alpha = 1x, 2x (the main runs) and 4x the rank, same rank and learning rate, per cell."""
    study = [r for r in _ok(rows) if r.get("study") == "alpha"]
    if not study:
        return []
    factors = sorted({r["alpha_factor"] for r in study} | {2.0})
    lines = ["| cell | method | rank | " + " | ".join(f"alpha = {f:g} × rank" for f in factors) + " |"]
    lines.append("|---|---|---|" + "---|" * len(factors))
    for key in dict.fromkeys((r["backbone"], r["dataset"], r["method"]) for r in study):
        mine = [r for r in study if (r["backbone"], r["dataset"], r["method"]) == key]
        cols = []
        for f in factors:
            accs = [r["accuracy"] for r in mine if r["alpha_factor"] == f]
            accs = _main_accs(groups, mine[0], key[2]) if f == 2.0 else accs
            cols.append(pct(*stats(accs)) if accs else "—")
        lines.append(
            f"| {key[0]} · {key[1]} | {labels.get(key[2], key[2])} | {mine[0]['rank']} | "
            + " | ".join(cols)
            + " |"
        )
    return lines


def peft_table(groups, cells, budgets, rows=()) -> list[str]:
    """Our LoRA vs PEFT's per cell; the extra seeds of the ``peer-check`` study join the main ones."""
    extra: dict[tuple, list] = defaultdict(list)
    for r in _ok(rows):
        if r.get("study") == "peer-check":
            extra[(r["backbone"], r["dataset"], r["method"], r["budget"], r["lr"])].append(r["accuracy"])
    lines = [
        "| cell | budget | n seeds | LoRA (ours) | PEFT LoRA | ours − PEFT |",
        "|---|---|---|---|---|---|",
    ]
    n = 0
    for bb, ds in cells:
        for b in budgets:
            a, p = groups.get((bb, ds, "lora", b)), groups.get((bb, ds, "peft-lora", b))
            if not (a and p):
                continue
            aa = [r["accuracy"] for r in _ok(a["rows"])] + extra[(bb, ds, "lora", b, a["lr"])]
            pp = [r["accuracy"] for r in _ok(p["rows"])] + extra[(bb, ds, "peft-lora", b, p["lr"])]
            seeds = f"{len(aa)}" if len(aa) == len(pp) else f"{len(aa)} / {len(pp)}"
            lines.append(
                f"| {bb} · {ds} | {b} | {seeds} | {pct(*stats(aa))} | {pct(*stats(pp))} | {diff_cell(aa, pp)[0]} |"
            )
            n += 1
    return lines if n else []


# ----------------------------------------------------------------------------- figures
def figures_html(groups, rows, cells, labels, path: Path) -> int:
    """Accuracy vs trainable parameters per cell, per-domain bars of the first cell, accuracy by training length
    per cell of that ablation, the rank sweep."""
    from metalora.figures.cost import accuracy_by_epochs, accuracy_vs_cost, domain_accuracy

    figs = []
    for bb, ds in cells:
        agg = []
        for (gbb, gds, m, b), g in groups.items():
            if (gbb, gds) != (bb, ds):
                continue
            s = summary(g)
            name = labels.get(m, m) + (f" ({b})" if b else "")
            agg.append({"method": name, "accuracy_mean": s["acc"][0], "accuracy_std": s["acc"][1],
                        "n": s["acc"][2], "trainable_mean": s["trainable"]})  # fmt: skip
        if agg:
            heading = f"{bb} · {CELL_NAMES.get(ds, ds)}: test accuracy vs trainable parameters"
            figs.append((heading, accuracy_vs_cost(agg, cost="trainable")))
    if cells:
        bb, ds = cells[0]
        raw = [
            {
                "method": labels.get(m, m),
                "rank": g["rank"],
                "accuracy": r["accuracy"],
                "per_domain": r["per_domain"],
            }
            for (gbb, gds, m, b), g in groups.items()
            if (gbb, gds) == (bb, ds) and b in (None, "small")
            for r in _ok(g["rows"])
        ]
        if raw:
            figs.append((f"{bb} · {ds}, small budget: test accuracy per domain", domain_accuracy(raw)))
    long = long_groups(rows)
    for bb, ds in dict.fromkeys((k[0], k[1]) for k, g in long.items() if g["tuned"]):
        runs = (
            [  # the main grid's runs of the cell (small budget) and the long runs at their re-tuned rate
                {"method": labels.get(m, m), "epochs": r["epochs"], "accuracy": r["accuracy"]}
                for (gbb, gds, m, b), g in groups.items()
                if (gbb, gds) == (bb, ds) and b in (None, "small") and (bb, ds, m) in long
                for r in _ok(g["rows"])
            ]
            + [
                {"method": labels.get(k[2], k[2]), "epochs": r["epochs"], "accuracy": r["accuracy"]}
                for k, g in long.items()
                if k[:2] == (bb, ds)
                for r in g["tuned"]
            ]
        )
        heading = f"{bb} · {CELL_NAMES.get(ds, ds)}, small budget: test accuracy by training length"
        figs.append((heading, accuracy_by_epochs(runs)))
    sweep = [r for rs in sweep_groups(rows).values() for r in rs]
    if sweep:
        f = accuracy_vs_cost(
            [{"method": labels.get(r["method"], r["method"]), "rank": r["rank"], "seed": r["seed"],
              "accuracy": r["accuracy"], "trainable": r["trainable"]} for r in sweep],
            cost="trainable",
        )  # fmt: skip
        figs.append(("Rank sweep: test accuracy vs trainable parameters (each point one seed)", f))
    parts = []
    for i, (heading, f) in enumerate(figs):  # the heading above the figure: the figure keeps its own title
        html = f.fig.to_html(
            full_html=False, include_plotlyjs=i == 0, div_id=f"figure-{i}"
        )  # stable ids: stable diffs
        parts.append(f"<section><h2>{heading}</h2><p>{f.caption_for('en')}</p>{html}</section>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>MetaLoRA Studio: method comparison</title>"
        "</head><body style='font-family:sans-serif;max-width:1100px;margin:auto'>"
        "<h1>MetaLoRA Studio: method comparison</h1>" + "".join(parts) + "</body></html>",
        encoding="utf-8",
    )
    return len(figs)


# ----------------------------------------------------------------------------- report
def main_epochs(rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """The epoch counts of the main grid's runs (one, normally)."""
    return sorted({r["epochs"] for r in rows if r.get("study") == "main"})


def replace_between(text: str, start: str, end: str, body: str) -> str:
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    return text.rstrip() + "\n\n" + block + "\n"


def write_report(
    rows: Sequence[Mapping[str, Any]],
    *,
    preset_name: str,
    out: Path,
    figures: Path,
    readme: Path | None,
    command: str,
    methods: Sequence[str],
    labels: Mapping[str, str],
    lr_grids: Mapping[str, Sequence[float]],
) -> str:
    groups = final_groups(rows)
    cells = list(dict.fromkeys((k[0], k[1]) for k in groups))
    budgets = [b for b in ("small", "large") if any(k[3] == b for k in groups)]
    methods = [m for m in methods if any(k[2] == m for k in groups)]
    ok = _ok(rows)
    threads = sorted({r.get("threads") for r in ok if r.get("threads")})
    devices = sorted({r.get("device") for r in ok})
    epochs = main_epochs(ok)
    long = sorted({r["epochs"] for r in ok if r.get("study") in LONG_STUDIES})
    seeds = sorted({r["seed"] for r in ok if r.get("study") == "main"})
    md = [
        f"_Generated by `{command}` (preset `{preset_name}`) on {date.today().isoformat()}: "
        f"{len(rows)} runs, {len(rows) - len(ok)} failed; device {', '.join(devices)}"
        + (f", {', '.join(map(str, threads))} CPU thread(s) per run" if threads else "")
        + f"; Python {platform.python_version()}._",
        "",
        f"Protocol: {', '.join(map(str, epochs))} epochs"
        + (f" ({long[-1]} in the training-length ablation)" if long else "")
        + ", batch 64, AdamW with cosine decay, every adapter on every "
        "Conv2d and Linear of the sample backbone (trained on clean data), alpha = 2 × rank. Budgets: *small* = "
        "LoRA's trainable count at rank 4, *large* = at rank 16; every other adapter gets the rank whose count is "
        "closest. Learning rate per (backbone, method, budget) chosen by seed 0's **validation** accuracy on the "
        "first data set (a best rate at the grid's edge got one more rate beyond it, x4 or /4; the other data "
        "sets reuse the rate) from "
        + "; ".join(
            f"{labels.get(m, m)} {{{', '.join(f'{v:g}' for v in g)}}}"
            for m, g in lr_grids.items()
            if m in ("full", "lora")
        )
        + " (the grid of LoRA is every adapter's and the head's); then seeds "
        f"{', '.join(map(str, seeds))} at that rate. Cells show **test** accuracy, mean ± sample standard deviation "
        "over the seeds (never the best seed). Differences: mean difference ± its standard error; `*` marks "
        "|difference| > 2 standard errors. GFLOPs / input include MetaLoRA's feature pass. Train s and peak MiB "
        "are rough: runs share the machine (several at a time, one thread each), and on CPU peak MiB is the "
        "rise of the process's resident-set high-water mark during the run (Linux; memory freed by earlier "
        "runs is reused, so it is a lower bound); on CUDA it is the allocator's peak. For cost, trust the "
        "interleaved speed tables below.",
        "",
    ]
    if budgets:
        md += ["### Overview: test accuracy % at the small budget", ""]
        md += [*overview_table(groups, cells, methods, labels, "small"), ""]
        if "large" in budgets:
            md += ["### Overview: test accuracy % at the large budget", ""]
            md += [*overview_table(groups, cells, methods, labels, "large"), ""]
        cond, losses = conditioning_table(groups, cells, budgets)
        md += [
            "### What the generated seed adds: input-conditioning on vs off (accuracy points)",
            "",
            *cond,
            "",
        ]
        md += ["### Where MetaLoRA does not clearly beat LoRA", ""]
        md += losses or [
            "Nowhere in this grid: every MetaLoRA cell is more than 2 standard errors above LoRA."
        ]
        md += [""]
        peft = peft_table(groups, cells, budgets, rows)
        if peft:
            md += [
                "### Our LoRA against Hugging Face PEFT's LoRA (same layers, rank, alpha, protocol)",
                "",
                *peft,
                "",
            ]
        else:
            md += ["PEFT baselines: not in these runs (PEFT was not installed).", ""]
    sweep = sweep_table(rows, labels)
    if sweep:
        md += ["### Ablation: rank sweep", "", *sweep, ""]
    studies = [
        ("feature-source", "input statistics", "feature source of the mapping network (backbone features vs "
         "input statistics)"),
        ("seed-init", "random seed init", "seed initialisation (every seed starts at 1 vs mapping output "
         "layer drawn with std 0.05, so seeds differ between inputs from the start)"),
        ("mapping-size", "mapping hidden 16", "a smaller mapping network (hidden 64 vs 16; the freed budget "
         "goes to the rank, matched again)"),
    ]  # fmt: skip
    for study, variant, title in studies:
        table = variant_table(rows, groups, labels, study, variant)
        if table:
            md += [f"### Ablation: {title}", "", *table, ""]
    length = epochs_table(rows, groups, labels)
    if length:
        md += [
            f"### Ablation: training length (the main grid's {'/'.join(map(str, epochs))} epochs vs {long[-1]}, small "
            "budget)",
            "",
            *length,
            "",
        ]
    alpha = alpha_table(rows, groups, labels)
    if alpha:
        md += [
            "### Ablation: the scale alpha of the update (small budget, same learning rate)",
            "",
            *alpha,
            "",
        ]
    md += ["### Every cell in full", ""]
    for bb, ds in cells:
        md += [f"#### {bb} · {CELL_NAMES.get(ds, ds)}", "", *cell_table(groups, bb, ds, methods, labels), ""]
    md += ["### Learning-rate choice (seed 0, validation accuracy %)", ""]
    width = max((len(g["tuning"]) for g in groups.values()), default=1)
    md += [
        "| cell | method | budget | " + " | ".join(["lr → val"] * width) + " |",
        "|---|---|---|" + "---|" * width,
    ]
    for (bb, ds, m, b), g in groups.items():
        if len(g["tuning"]) < 2:  # a data set that reuses a rate tuned elsewhere
            continue
        tune = " | ".join(
            f"{r['lr']:g} → {100 * r['val_accuracy']:.1f}" + (" ✓" if r["lr"] == g["lr"] else "")
            if r["status"] == "completed" else f"{r['lr']:g} → failed"
            for r in g["tuning"]
        )  # fmt: skip
        pad = " |" * (width - len(g["tuning"]))
        md.append(f"| {bb} · {ds} | {labels.get(m, m)} | {b or '—'} | {tune} |{pad}")
    n_figs = figures_html(groups, rows, cells, labels, figures)
    md += [
        "",
        f"Figures ({n_figs}, interactive): [`{figures.name}`]({figures.name}), one self-contained HTML file.",
    ]
    body = "\n".join(md)
    text = out.read_text(encoding="utf-8") if out.is_file() else "# Results\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(replace_between(text, START, END, body), encoding="utf-8")
    if readme is not None and cells:
        bb, ds = cells[0]
        main = [
            f"{bb} · {CELL_NAMES.get(ds, ds)}; test accuracy %, mean ± std over {len(seeds)} seeds, learning rate "
            f"tuned on validation, from `{command}` (full tables, ablations and every cell: `docs/results.md`):",
            "",
            *cell_table(groups, bb, ds, methods, labels),
        ]
        text = readme.read_text(encoding="utf-8")
        readme.write_text(replace_between(text, README_START, README_END, "\n".join(main)), encoding="utf-8")
    return body
