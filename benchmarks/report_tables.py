"""The markdown tables of the method comparison, one function per table (each returns its lines).

Method names are the registry's labels (:func:`metalora.methods.method_label`); the runs a table reads are
chosen in :mod:`report_select`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from report_select import (
    accuracies,
    completed,
    diff_cell,
    long_groups,
    main_accs,
    mib,
    pct,
    summary,
    sweep_groups,
)

from metalora.methods import get_method, list_methods, method_ids, method_label
from metalora.stats import mean_std

__all__ = [
    "alpha_table",
    "cell_table",
    "conditioning_table",
    "epochs_table",
    "lr_table",
    "overview_table",
    "peft_table",
    "sweep_table",
    "variant_table",
]

CONDITIONED = ("meta-tr", "meta-cp")  # MetaLoRA, compared with the static core of the same tensor format
PEER = ("lora", "peft-lora")  # our LoRA and its PEFT twin


def _rule(head: Sequence[str]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]


def static_twin(method: str) -> str:
    """The library's method with the same tensor format and a static core (``meta-tr`` -> ``tr``)."""
    fmt = get_method(method).tensor_format
    return next(m.id for m in list_methods(adapter=True, input_conditioned=False) if m.tensor_format == fmt)


def cell_table(groups, backbone: str, dataset: str, methods: Sequence[str]) -> list[str]:
    """Every method of one cell in full: rank, trainable count, rate, accuracy per domain, costs."""
    keys = [
        (backbone, dataset, m, b)
        for b in (None, "small", "large")
        for m in methods
        if (backbone, dataset, m, b) in groups
    ]
    if not keys:
        return []
    domains = list(summary(groups[keys[0]])["domains"])
    lines = _rule(["method", "budget", "rank", "trainable", "lr (val)", "test accuracy %", *domains,
                   "GFLOPs / input", "train s", "peak MiB"])  # fmt: skip
    for k in keys:
        g, s = groups[k], summary(groups[k])
        flops = f"{s['flops'] / 1e9:.4f}" if s["flops"] else "—"
        row = [
            method_label(k[2]),
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


def overview_table(groups, cells, methods, budget: str) -> list[str]:
    """Test accuracy of every method in every cell at one budget (methods without a rank: their only row)."""
    lines = _rule(["method", *[f"{bb} · {ds}" for bb, ds in cells]])
    for m in methods:
        b = budget if get_method(m).ranked else None
        cols = []
        for bb, ds in cells:
            g = groups.get((bb, ds, m, b))
            cols.append(pct(*summary(g)["acc"]) if g else "—")
        if any(c != "—" for c in cols):
            lines.append("| " + " | ".join([method_label(m), *cols]) + " |")
    return lines


def conditioning_table(groups, cells, budgets) -> tuple[list[str], list[str]]:
    """MetaLoRA vs the same format with a static core; and the cells where MetaLoRA does not beat LoRA."""
    lora = method_label("lora")
    diffs = [f"{method_label(m)} − {method_label(static_twin(m))}" for m in CONDITIONED]
    lines = _rule(["cell", "budget", *diffs, f"best MetaLoRA − {lora}"])
    losses = []
    for bb, ds in cells:
        for b in budgets:

            def accs(m, bb=bb, ds=ds, b=b):
                g = groups.get((bb, ds, m, b))
                return accuracies(g["rows"]) if g else []

            cols = [diff_cell(accs(m), accs(static_twin(m)))[0] for m in CONDITIONED]
            best = max(CONDITIONED, key=lambda m: mean_std(accs(m))[0] if accs(m) else -1)
            vs, d, se = diff_cell(accs(best), accs("lora"))
            lines.append(f"| {bb} · {ds} | {b} | " + " | ".join(cols) + f" | {vs} ({method_label(best)}) |")
            if math.isfinite(d) and d <= 2 * se:
                losses.append(
                    f"- {bb} · {ds}, {b} budget: {method_label(best)} "
                    f"{'is below' if d < 0 else 'is not clearly above'} {lora} ({100 * d:+.1f} ± {100 * se:.1f} points)."
                )
    return lines, losses


def sweep_table(rows) -> list[str]:
    """Accuracy at each rank of the sweep, with the trainable count and the rate chosen for that rank."""
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
                acc = pct(*mean_std(r["accuracy"] for r in rs))
                cells.append(f"{acc} ({rs[0]['trainable']:,} p., lr {rs[0]['lr']:g})")
            else:
                cells.append("—")
        lines.append(f"| {method_label(m)} | " + " | ".join(cells) + " |")
    first = sweep[0]
    lines.append("")
    lines.append(
        f"({first['backbone']} · {first['dataset']}, test accuracy % mean ± std over seeds, trainable "
        f"parameters and the rate chosen on validation for that rank in brackets.)"
    )
    return lines


def variant_table(rows, groups, study: str, variant: str) -> list[str]:
    """MetaLoRA as in the main grid vs one changed setting (the ``study`` runs), per cell and method."""
    runs = [r for r in completed(rows) if r.get("study") == study]
    if not runs:
        return []
    lines = [
        f"| cell | method | rank | as in the main grid | {variant} | difference |",
        "|---|---|---|---|---|---|",
    ]
    for key in dict.fromkeys((r["backbone"], r["dataset"], r["method"]) for r in runs):
        mine = [r for r in runs if (r["backbone"], r["dataset"], r["method"]) == key]
        g = groups.get((*key, mine[0]["budget"]))
        base, other = main_accs(groups, mine[0], key[2]), [r["accuracy"] for r in mine]
        rank = (
            f"{g['rank']} → {mine[0]['rank']}" if g and g["rank"] != mine[0]["rank"] else str(mine[0]["rank"])
        )
        lines.append(
            f"| {key[0]} · {key[1]} | {method_label(key[2])} | {rank} | {pct(*mean_std(base))} | "
            f"{pct(*mean_std(other))} | {diff_cell(other, base)[0]} |"
        )
    return lines


def epochs_table(rows, groups) -> list[str]:
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
        main = main_accs(groups, r0, m)
        at_main = [r["accuracy"] for r in g["main_rate"]]
        tuned = [r["accuracy"] for r in g["tuned"]]
        lines.append(
            f"| {bb} · {ds} | {method_label(m)} | {r0['rank'] if r0['rank'] is not None else '—'} "
            f"| {pct(*mean_std(main))} "
            f"| {pct(*mean_std(at_main))}"
            + (f" (n={len(at_main)})" if 0 < len(at_main) < len(tuned) else "")
            + (f" (lr {g['main_rate'][0]['lr']:g})" if at_main else "")
            + (
                f" | {pct(*mean_std(tuned))} (lr {g['lr']:g}) | {diff_cell(tuned, main)[0]} |"
                if tuned
                else " | — | — |"
            )
        )
    meta = method_ids(input_conditioned=True)
    pairs = [(m, static_twin(m)) for m in meta] + [(m, "lora") for m in meta]
    present = [(a, b) for a, b in pairs if any(k[2] == a for k in by) and any(k[2] == b for k in by)]
    if present and any(g["tuned"] for g in by.values()):
        lines += [
            "",
            f"At {long} epochs with re-tuned rates, differences in accuracy points (± standard error; `*`: beyond 2):",
            "",
            "| cell | " + " | ".join(f"{method_label(a)} − {method_label(b)}" for a, b in present) + " |",
            "|---|" + "---|" * len(present),
        ]
        for bb, ds in dict.fromkeys((k[0], k[1]) for k in by):

            def accs(m, bb=bb, ds=ds):
                return [r["accuracy"] for r in by.get((bb, ds, m), {}).get("tuned", [])]

            cells = [diff_cell(accs(a), accs(b))[0] for a, b in present]
            lines.append(f"| {bb} · {ds} | " + " | ".join(cells) + " |")
    return lines


def alpha_table(rows, groups) -> list[str]:
    """Accuracy at alpha = 1x, 2x (the main runs) and 4x the rank, same rank and learning rate, per cell."""
    study = [r for r in completed(rows) if r.get("study") == "alpha"]
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
            accs = main_accs(groups, mine[0], key[2]) if f == 2.0 else accs
            cols.append(pct(*mean_std(accs)) if accs else "—")
        lines.append(
            f"| {key[0]} · {key[1]} | {method_label(key[2])} | {mine[0]['rank']} | " + " | ".join(cols) + " |"
        )
    return lines


def peft_table(groups, cells, budgets, rows=()) -> list[str]:
    """Our LoRA vs PEFT's per cell; the extra seeds of the ``peer-check`` study join the main ones."""
    extra: dict[tuple, list] = defaultdict(list)
    for r in completed(rows):
        if r.get("study") == "peer-check":
            extra[(r["backbone"], r["dataset"], r["method"], r["budget"], r["lr"])].append(r["accuracy"])
    ours, peer = PEER
    lines = _rule(
        ["cell", "budget", "n seeds", f"{method_label(ours)} (ours)", method_label(peer), "ours − PEFT"]
    )
    n = 0
    for bb, ds in cells:
        for b in budgets:
            a, p = groups.get((bb, ds, ours, b)), groups.get((bb, ds, peer, b))
            if not (a and p):
                continue
            aa = accuracies(a["rows"]) + extra[(bb, ds, ours, b, a["lr"])]
            pp = accuracies(p["rows"]) + extra[(bb, ds, peer, b, p["lr"])]
            seeds = f"{len(aa)}" if len(aa) == len(pp) else f"{len(aa)} / {len(pp)}"
            lines.append(
                f"| {bb} · {ds} | {b} | {seeds} | {pct(*mean_std(aa))} | {pct(*mean_std(pp))} "
                f"| {diff_cell(aa, pp)[0]} |"
            )
            n += 1
    return lines if n else []


def lr_table(groups) -> list[str]:
    """The learning-rate choice: seed 0's validation accuracy at every rate tried, the chosen one ticked."""
    width = max((len(g["tuning"]) for g in groups.values()), default=1)
    lines = [
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
        lines.append(f"| {bb} · {ds} | {method_label(m)} | {b or '—'} | {tune} |{pad}")
    return lines
