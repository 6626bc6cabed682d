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


def cached(run: RunRecord, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``run.cache[key]``, computing it with ``compute()`` the first time."""
    if key not in run.cache:
        run.cache[key] = compute()
    return run.cache[key]


def seed_table(run: RunRecord):
    """The seeds of every adapted layer for up to :data:`MAX_INPUTS` test images."""
    from metalora.analysis.seeds import collect_seeds

    return cached(run, "seeds", lambda: collect_seeds(run.model, run.splits.test, max_inputs=MAX_INPUTS))


def rank_sweeps(run: RunRecord, layers: tuple[str, ...]):
    """Error-against-rank sweeps (CP, Tucker, Tensor Ring) of the updates of ``layers``."""
    from metalora.analysis.updates import model_rank_sweeps

    table = seed_table(run) if run.model.config.meta else None
    return cached(
        run,
        ("ranks", layers),
        lambda: model_rank_sweeps(run.model, table, layers=list(layers), n_inputs=RANK_INPUTS),
    )


class ClusterView:
    """A 2-D map of the inputs' seeds with cluster labels and agreement scores (stand-in shape)."""

    def __init__(self, table, xy, clusters, ari: float, nmi: float):
        self.table, self.xy, self.clusters, self.ari, self.nmi = table, xy, clusters, ari, nmi


def clusters(run: RunRecord) -> ClusterView:
    """The seeds embedded in 2-D and clustered into as many groups as there are domains.

    Stand-in until ``metalora.analysis.clusters`` lands: PCA to 2-D, k-means on the standardised
    seeds, and ARI / NMI of the clusters against the domains (scikit-learn).
    """
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    def compute() -> ClusterView:
        table = seed_table(run)
        m = table.matrix()
        sd = m.std(0)
        z = (m - m.mean(0)) / np.where(sd > 0, sd, 1.0)
        k = max(2, len(np.unique(table.domain)))
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(z)
        xy = PCA(n_components=2, random_state=0).fit_transform(z)
        return ClusterView(
            table,
            xy,
            labels,
            float(adjusted_rand_score(table.domain, labels)),
            float(normalized_mutual_info_score(table.domain, labels)),
        )

    return cached(run, "clusters", compute)
