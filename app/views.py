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
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.session_runs import RunRecord

if TYPE_CHECKING:
    from torch import nn

    from metalora.analysis import ClusterResult, KindGroups, RunAnalysis, ScalingTable
    from metalora.data import DataSplits

#: The cost axes of the Accuracy & cost page (each has its ``cost_`` string); ``latency_s`` is measured.
COSTS = ("trainable", "flops", "latency_s", "train_time_s")
#: The columns of :func:`spread_table` (each has its ``col_`` string).
SPREAD_COLUMNS = ("method", "rank", "n", "mean", "std")
#: The columns of the runs tables as an interactive grid shows them on a desk: those that fit the page's
#: width (the grid cannot wrap; every column is in the CSV download and, on the Runs page, the registry's
#: table; the Accuracy & cost page draws the costs).
RUN_TABLE_COLUMNS = ("run", "method", "rank", "seed", "data", "test_acc", "trainable_params", "status")
ACCURACY_TABLE_COLUMNS = ("run", "method", "rank", "seed", "data", "test_acc", "trainable_params")
#: The columns of :func:`layer_rows` and :func:`split_rows`: a layer by its name for people, then its code name.
LAYER_COLUMNS = ("layer", "code_name", "layer_type", "weight_shape", "weights")
SPLIT_COLUMNS = ("split", "images")
#: The layers the Tensor-ranks page analyses first (its default choice), warmed with the run (:func:`warm`).
RANK_LAYERS = 3


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


def rows_key(rows: Sequence[dict]) -> str:
    """Rows of plain values (:func:`cost_row`'s) as one string, equal exactly when the rows are: the memo key
    (:func:`app.ui.chart`) of a figure drawn from them alone."""
    return json.dumps(list(rows), sort_keys=True, default=repr)


def by_data(runs: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    """The runs grouped by the data set they were trained on (:attr:`RunRecord.data_key`), in order."""
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(run.data_key, []).append(run)
    return groups


def data_description(run: RunRecord, lang: str) -> str:
    """The run's data set in full, to tell data sets apart: ``"digits · clean, inverted · 32 px"``."""
    from app.session_runs import data_name
    from app.strings import domain_name, t

    spec = run.result.data
    if spec is None:
        return t("data_uploaded", lang, name=run.result.dataset)
    domains = ", ".join(domain_name(d, lang) for d in spec.domains)
    text = t("data_builtin", lang, name=data_name(spec.name, lang), domains=domains, size=spec.image_size)
    if spec.samples_per_class:
        text += " · " + t("data_per_class", lang, n=spec.samples_per_class)
    return text


def has_repeats(spread: Sequence[dict]) -> bool:
    """True when some setting of :func:`repeat_spread` has two or more runs (so a spread exists)."""
    return any(int(g.get("n") or 0) >= 2 for g in spread)


def domain_summary(rows: Sequence[dict], lang: str = "en") -> list[dict]:
    """The cost rows' per-domain accuracy, aggregated over repeats (what ``domain_accuracy`` draws), the
    domains named in ``lang`` (the figure writes them as they come)."""
    from app.strings import domain_name
    from metalora.analysis import summarise_domains

    named = [{**r, "per_domain": {domain_name(d, lang): a for d, a in r["per_domain"].items()}} for r in rows]
    return summarise_domains(named)


def describe(table: ScalingTable, row: int, lang: str) -> str:
    """Row ``row`` of the table in ``lang``, as the figures' hover texts name it (the library's words, the
    domain by its display name): ``"input #12 · class 3 · mirrored · predicted 3"``."""
    from metalora.figures import describe_input

    return describe_input(table.facts(row), lang)


#: The readings of the cluster scores: ``strong`` when both ARI and NMI reach :data:`STRONG`, ``partial``
#: when either reaches :data:`PARTIAL`, else ``weak``. ARI is 0 for chance and 1 for a perfect match; NMI
#: is 0 for no shared information and 1 for the same grouping. 0.6 is where the groups mostly are the kinds
#: of input; below 0.2 the agreement is hardly above what a random grouping of these sizes gives.
STRONG, PARTIAL = 0.6, 0.2
READINGS = ("strong", "partial", "weak", "one_domain")


def cluster_reading(result: ClusterResult, table: ScalingTable, groups: KindGroups | None = None) -> str:
    """What the cluster scores say (a key of :data:`READINGS`), from the measured ARI and NMI with the
    domains; ``one_domain`` when the inputs have a single kind (no kinds to compare the groups with).
    Given the kinds' ``groups`` (:func:`metalora.analysis.kind_groups`), high scores read ``strong`` only
    when every kind has a group of its own: kinds that share a group are not told apart."""
    import numpy as np

    ari, nmi = result.ari.get("domain", math.nan), result.nmi.get("domain", math.nan)
    if len(np.unique(table.domain)) < 2 or math.isnan(ari) or math.isnan(nmi):
        return "one_domain"
    if ari >= STRONG and nmi >= STRONG and not (groups and (groups.shared or groups.spread)):
        return "strong"
    if ari >= PARTIAL or nmi >= PARTIAL:
        return "partial"
    return "weak"


def cluster_story(view: RunAnalysis, lang: str) -> str:
    """What the clusters page says first: the measured agreement (:func:`cluster_reading`, with its ARI and
    NMI) and which kinds of input get a group of their own or share one (:func:`kinds_sentence`)."""
    from app.strings import t

    result, table, groups = view.clusters(), view.scaling_table(), view.kind_groups()
    reading = cluster_reading(result, table, groups)
    ari, nmi = result.ari.get("domain", math.nan), result.nmi.get("domain", math.nan)
    text = t(f"reading_{reading}", lang, ari=f"{ari:.2f}", nmi=f"{nmi:.2f}")
    if reading == "one_domain":
        return text
    kinds = kinds_sentence(groups, lang)
    return f"{text}{'' if lang == 'ja' else ' '}{kinds}" if kinds else text


def listing(items: Sequence[str], lang: str) -> str:
    """``items`` as one phrase: "a, b and c" (ja: "a、bとc")."""
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    if lang == "ja":
        return "、".join(items[:-1]) + "と" + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def kinds_sentence(groups: KindGroups, lang: str) -> str:
    """Which kinds of input get their own group, share one, or spread (:func:`metalora.analysis.kind_groups`),
    in one sentence; empty when there is nothing to say."""
    from app.strings import t
    from metalora.i18n import domain_name

    def names(kinds: Sequence[str]) -> str:
        return listing([domain_name(k, lang) for k in kinds], lang)

    parts = []
    if groups.own:
        parts.append(
            t("kinds_own_one" if len(groups.own) == 1 else "kinds_own_many", lang, kinds=names(groups.own))
        )
    parts += [t("kinds_shared", lang, kinds=names(kinds)) for kinds in groups.shared]
    if groups.spread:
        parts.append(t("kinds_spread", lang, kinds=names(groups.spread)))
    if not parts:
        return ""
    if lang == "ja":
        return "。".join(parts) + "。"
    sentence = "; ".join(parts) + "."
    return sentence[0].upper() + sentence[1:]


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


def contractions_text(run: RunRecord, lang: str) -> str | None:
    """One sentence on how the run's adapted layers computed in training (or, for a run rebuilt without that
    record, in the analysis's passes), or None for a run without adapters or whose model cannot be rebuilt
    (the page says that elsewhere)."""
    from app.strings import CONTRACTIONS, display_name, t
    from metalora.errors import MetaLoRAError

    try:
        counts = analysis(run).contractions()
    except MetaLoRAError:  # a run whose model cannot be rebuilt (its folder or its uploaded data is gone)
        return None
    used = counts["train"] or counts["infer"]
    if not used:
        return None
    parts = [
        t("contraction_count", lang, n=n, path=display_name(CONTRACTIONS, path, lang))
        for path, n in sorted(used.items(), key=lambda kv: -kv[1])
    ]
    return t("contractions_used", lang, counts=("、" if lang == "ja" else ", ").join(parts))


def layer_names(layers: Sequence[str], lang: str) -> dict[str, str]:
    """``{code name: name for people}`` of a model's layers in ``lang``, as the figures name them
    (:func:`metalora.i18n.layer_names`: ``stages.1.0.conv2`` -> "Stage 2 · block 1 · conv 2"), for the
    pickers' ``format_func`` (their values stay the code names)."""
    from metalora.i18n import layer_names as names_for_people

    return names_for_people(layers, lang)


def layer_rows(model: nn.Module, lang: str = "en") -> list[dict]:
    """Every layer of ``model`` an adapter can be added to, with :data:`LAYER_COLUMNS`: its name for
    people (:func:`layer_names`) and its code name."""
    from app.strings import LAYER_TYPES, display_name
    from metalora.adapters import adaptable_modules

    modules = adaptable_modules(model)
    names = layer_names(list(modules), lang)
    return [
        {
            "layer": names[name],
            "code_name": name,
            "layer_type": display_name(LAYER_TYPES, type(m).__name__, lang),
            "weight_shape": str(tuple(m.weight.shape)),
            "weights": m.weight.numel(),
        }
        for name, m in modules.items()
    ]


def split_rows(splits: DataSplits, lang: str = "en") -> list[dict]:
    """The size of each split, with :data:`SPLIT_COLUMNS`, the splits named in ``lang``."""
    from app.strings import SPLIT_NAMES, display_name

    return [
        {"split": display_name(SPLIT_NAMES, name, lang), "images": len(d)}
        for name, d in splits.as_dict().items()
    ]


def warm(run: RunRecord) -> None:
    """Compute ahead of time (in the training thread) what the analysis pages open with: the run's scaling
    factors, clusters and their statistics by kind, and the rank sweeps of the first :data:`RANK_LAYERS` layers.

    Called before the run becomes visible, so the first visit of an analysis page after training only
    draws. A library error here is left for the page to report when it asks for the view itself.
    """
    from metalora.errors import MetaLoRAError

    with contextlib.suppress(MetaLoRAError):
        analysis(run).warm(rank_layers=RANK_LAYERS)
