"""Analysis results of a run, computed once on demand by the library and kept with the run.

The pages never compute analysis themselves: they ask here, and this module asks
``metalora.analysis``. A result is stored in the run's own ``cache`` dict (in the user's session),
so switching pages or languages does not recompute it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from runs import RunRecord

#: Inputs kept for the seed views (a random, reproducible subset of the test split).
MAX_INPUTS = 400
RANK_INPUTS = 48
LATENCY_BATCH = 16


def cached(run: RunRecord, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``run.cache[key]``, computing it with ``compute()`` the first time."""
    if key not in run.cache:
        run.cache[key] = compute()
    return run.cache[key]


def scaling_table(run: RunRecord):
    """The seeds of every adapted layer for up to :data:`MAX_INPUTS` test images."""
    from metalora.analysis import collect_scaling

    return cached(run, "seeds", lambda: collect_scaling(run.model, run.splits.test, max_inputs=MAX_INPUTS))


def scaling_stats(run: RunRecord, by: str):
    """Per layer, how much of the seeds' variation the domain (or class) explains."""
    from metalora.analysis import scaling_stats as stats

    return cached(run, ("scaling_stats", by), lambda: stats(scaling_table(run), by=by))


def rank_sweeps(run: RunRecord, layers: tuple[str, ...]):
    """Error-against-rank sweeps (CP, Tucker, Tensor Ring) of the updates of ``layers``."""
    from metalora.analysis import model_rank_sweeps

    table = scaling_table(run) if run.model.config.meta else None
    return cached(
        run,
        ("ranks", layers),
        lambda: model_rank_sweeps(run.model, table, layers=list(layers), n_inputs=RANK_INPUTS),
    )


def spectra(run: RunRecord, layers: tuple[str, ...]):
    """Singular values of every unfolding of every learned factor of ``layers``."""
    from metalora.analysis import core_spectra

    return cached(run, ("spectra", layers), lambda: core_spectra(run.model, list(layers)))


def clusters(run: RunRecord):
    """The inputs clustered by their seeds (k chosen by silhouette) and placed on a 2-D map."""
    from metalora.analysis import cluster_scaling

    return cached(run, "clusters", lambda: cluster_scaling(scaling_table(run)))


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
        row["latency_s"] = cached(run, "latency", lambda: _latency(run))
    return row


def _latency(run: RunRecord) -> float:
    import torch

    from metalora.analysis import measure_latency

    x = torch.as_tensor(run.splits.test.x[:LATENCY_BATCH])
    return float(measure_latency(run.model, x, repeats=5, warmup=1)["median_s"])  # per batch


def warm(run: RunRecord) -> None:
    """Compute the seed table and clusters of a MetaLoRA run ahead of time (in the training thread).

    Called before the run becomes visible, so the first visit of an analysis page after training only
    draws. A failure here is left for the page to report when it computes the result itself.
    """
    from metalora.errors import MetaLoRAError

    config = getattr(run.model, "config", None)
    if config is None or not config.meta:
        return
    try:
        clusters(run)
    except MetaLoRAError:
        run.cache.pop("clusters", None)
