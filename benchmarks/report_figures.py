"""The method comparison's figures, in one self-contained HTML file (plotly.js inlined once).

Accuracy vs trainable parameters per cell, accuracy per domain in the first cell, accuracy by training
length, and the rank sweep; every figure is a :mod:`metalora.figures.cost` builder, fed the runs that
:mod:`report_select` picks (aggregated over their seeds by :mod:`metalora.analysis` where a figure draws
summaries). Method names are the registry's labels.
"""

from __future__ import annotations

from pathlib import Path

from report_select import CELL_NAMES, completed, long_groups, summary, sweep_groups

from metalora.figures.html import html_page
from metalora.methods import method_label

__all__ = ["figures_html"]

TITLE = "MetaLoRA Studio: method comparison"


def _figures(groups, rows, cells) -> list[tuple[str, object]]:
    """(heading, :class:`~metalora.figures.base.Figure`) of every figure the runs allow."""
    from metalora.analysis import summarise_domains, summarise_epochs
    from metalora.figures.cost import accuracy_by_epochs, accuracy_vs_cost, domain_accuracy

    figs = []
    for bb, ds in cells:
        agg = []
        for (gbb, gds, m, b), g in groups.items():
            if (gbb, gds) != (bb, ds):
                continue
            s = summary(g)
            name = method_label(m) + (f" ({b})" if b else "")
            agg.append({"method": name, "accuracy_mean": s["acc"][0], "accuracy_std": s["acc"][1],
                        "n": s["acc"][2], "trainable_mean": s["trainable"]})  # fmt: skip
        if agg:
            heading = f"{bb} · {CELL_NAMES.get(ds, ds)}: test accuracy vs trainable parameters"
            figs.append((heading, accuracy_vs_cost(agg, cost="trainable")))
    if cells:
        bb, ds = cells[0]
        raw = [
            {
                "method": method_label(m),
                "rank": g["rank"],
                "accuracy": r["accuracy"],
                "per_domain": r["per_domain"],
            }
            for (gbb, gds, m, b), g in groups.items()
            if (gbb, gds) == (bb, ds) and b in (None, "small")
            for r in completed(g["rows"])
        ]
        if raw:
            heading = f"{bb} · {ds}, small budget: test accuracy per domain"
            figs.append((heading, domain_accuracy(summarise_domains(raw))))
    long = long_groups(rows)
    for bb, ds in dict.fromkeys((k[0], k[1]) for k, g in long.items() if g["tuned"]):
        runs = (
            [  # the main grid's runs of the cell (small budget) and the long runs at their re-tuned rate
                {"method": method_label(m), "epochs": r["epochs"], "accuracy": r["accuracy"]}
                for (gbb, gds, m, b), g in groups.items()
                if (gbb, gds) == (bb, ds) and b in (None, "small") and (bb, ds, m) in long
                for r in completed(g["rows"])
            ]
            + [
                {"method": method_label(k[2]), "epochs": r["epochs"], "accuracy": r["accuracy"]}
                for k, g in long.items()
                if k[:2] == (bb, ds)
                for r in g["tuned"]
            ]
        )
        heading = f"{bb} · {CELL_NAMES.get(ds, ds)}, small budget: test accuracy by training length"
        figs.append((heading, accuracy_by_epochs(summarise_epochs(runs))))
    sweep = [r for rs in sweep_groups(rows).values() for r in rs]
    if sweep:
        f = accuracy_vs_cost(
            [{"method": method_label(r["method"]), "rank": r["rank"], "seed": r["seed"],
              "accuracy": r["accuracy"], "trainable": r["trainable"]} for r in sweep],
            cost="trainable",
        )  # fmt: skip
        figs.append(("Rank sweep: test accuracy vs trainable parameters (each point one seed)", f))
    return figs


def figures_html(groups, rows, cells, path: Path) -> int:
    """Write the figures to ``path``; returns how many there are."""
    figures = [(heading, f.fig, f.caption_for("en")) for heading, f in _figures(groups, rows, cells)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_page(TITLE, figures, dated=False), encoding="utf-8")  # undated: reproducible
    return len(figures)
