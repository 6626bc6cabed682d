"""The one door from the pages to analysis: what a page shows about a run, a model or a data set.

Each :class:`~app.session_runs.RunRecord` of the user's session holds one
:class:`metalora.analysis.RunAnalysis` of its model on its test split (made here on first request, so it
lives in the session with the run and never in a shared cache). The analysis memoises every view, so
switching pages or languages does not recompute it. Pages ask ``views.analysis(run).scaling_table()``
and the like, and the few helpers below; they never import :mod:`metalora.analysis` or compute
anything themselves. The figure builders (:mod:`metalora.figures`) only draw what they are given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.session_runs import RunRecord

if TYPE_CHECKING:
    from torch import nn

    from metalora.analysis import RunAnalysis
    from metalora.data import DataSplits

#: The cost axes of the Accuracy & cost page (each has its ``cost_`` string); ``latency_s`` is measured.
COSTS = ("trainable", "flops", "latency_s", "train_time_s")
#: The columns of :func:`spread_table` (each has its ``col_`` string).
SPREAD_COLUMNS = ("method", "rank", "n", "mean", "std")
#: The columns of :func:`layer_rows` and :func:`split_rows`.
LAYER_COLUMNS = ("layer", "layer_type", "weight_shape", "weights")
SPLIT_COLUMNS = ("split", "images")


def analysis(run: RunRecord) -> RunAnalysis:
    """The run's :class:`~metalora.analysis.RunAnalysis` (its model on its test split), made once."""
    if run.analysis_memo is None:
        from metalora.analysis import RunAnalysis

        run.analysis_memo = RunAnalysis(run.model, run.splits.test)
    return run.analysis_memo


def cost_row(run: RunRecord, latency: bool = False) -> dict:
    """The run as a row for the cost figures; ``latency`` measures it (once) on a small batch."""
    r = run.result
    row = {
        "run": run.id,
        "method": run.method,
        "rank": r.rank,
        "seed": r.seed,
        "accuracy": r.accuracy,
        "trainable": r.trainable_params,
        "flops": r.flops,
        "train_time_s": r.train_time_s,
        "per_domain": r.per_domain,
    }
    if latency:
        from metalora.errors import MetaLoRAError

        try:
            row["latency_s"] = analysis(run).latency_s()  # per batch
        except MetaLoRAError:  # a run that cannot be rebuilt (uploaded model or data): no point drawn
            row["latency_s"] = float("nan")
    return row


def by_data(runs: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    """The runs grouped by the data set they were trained on (:attr:`RunRecord.data_key`), in order."""
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(run.data_key, []).append(run)
    return groups


def data_description(run: RunRecord, lang: str) -> str:
    """The run's data set in full, to tell data sets apart: ``"digits · clean, inverted · 32 px"``."""
    from app.strings import t

    spec = run.result.data
    if spec is None:
        return t("data_uploaded", lang, name=run.result.dataset)
    text = t("data_builtin", lang, name=spec.name, domains=", ".join(spec.domains), size=spec.image_size)
    if spec.samples_per_class:
        text += " · " + t("data_per_class", lang, n=spec.samples_per_class)
    return text


def has_repeats(spread: Sequence[dict]) -> bool:
    """True when some setting of :func:`repeat_spread` has two or more runs (so a spread exists)."""
    return any(int(g.get("n") or 0) >= 2 for g in spread)


def domain_summary(rows: Sequence[dict]) -> list[dict]:
    """The cost rows' per-domain accuracy, aggregated over repeats (what ``domain_accuracy`` draws)."""
    from metalora.analysis import summarise_domains

    return summarise_domains(rows)


def repeat_spread(rows: Sequence[dict]) -> list[dict]:
    """The cost rows grouped by (method, rank): mean, spread and count over their repeats."""
    from metalora.stats import aggregate_runs

    return aggregate_runs(rows, by=("method", "rank"))


def spread_table(spread: Sequence[dict], lang: str) -> list[dict]:
    """:func:`repeat_spread` as table rows with :data:`SPREAD_COLUMNS`, the method named in ``lang``."""
    from metalora.methods import method_label

    return [
        {
            "method": method_label(g["method"], lang),
            "rank": g["rank"],
            "n": g["n"],
            "mean": g.get("accuracy_mean"),
            "std": g.get("accuracy_std"),
        }
        for g in spread
    ]


def layer_rows(model: nn.Module) -> list[dict]:
    """Every layer of ``model`` an adapter can be added to, with :data:`LAYER_COLUMNS`."""
    from metalora.adapters import adaptable_modules

    return [
        {
            "layer": name,
            "layer_type": type(m).__name__,
            "weight_shape": str(tuple(m.weight.shape)),
            "weights": m.weight.numel(),
        }
        for name, m in adaptable_modules(model).items()
    ]


def split_rows(splits: DataSplits) -> list[dict]:
    """The size of each split, with :data:`SPLIT_COLUMNS`."""
    return [{"split": name, "images": len(d)} for name, d in splits.as_dict().items()]


def warm(run: RunRecord) -> None:
    """Compute the run's scaling factors and clusters ahead of time (in the training thread).

    Called before the run becomes visible, so the first visit of an analysis page after training only
    draws. A library error here is left for the page to report when it asks for the view itself.
    """
    from metalora.errors import MetaLoRAError

    with contextlib.suppress(MetaLoRAError):
        analysis(run).warm()
