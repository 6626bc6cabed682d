"""Per-input adaptation clusters: do inputs fall into groups that the adapter treats alike?

The scaling factors of all inputs (all layers side by side, or one layer) are standardised and clustered
with scikit-learn: k-means, with k chosen by the silhouette score over a range unless given, or
agglomerative (Ward) clustering. The clusters are held against the known labels with the adjusted
Rand index (ARI, Hubert & Arabie 1985) and normalised mutual information (NMI): a high ARI against the
domains means the mapping network has learned to tell the domains apart on its own. A 2-D map (PCA by
default, t-SNE as an option) places every input for a scatter plot, and the most typical inputs of each
cluster (closest to its centre) are listed so a dashboard can show their images.

Everything is deterministic for a given ``random_state``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, DataError
from ._common import to_jsonable
from .scaling import ScalingTable

__all__ = ["ClusterResult", "KindGroups", "cluster_features", "cluster_scaling", "kind_groups"]

_SINGLE_THREAD_BELOW = 2000  # rows; below this, OpenMP threads cost more than they bring


def _threads(n_rows: int):
    """One BLAS/OpenMP thread for small problems: scikit-learn's threads spin-wait, which makes small
    fits many times slower when the cores are shared (measured: t-SNE on 120 points 7 s vs 0.4 s)."""
    if n_rows >= _SINGLE_THREAD_BELOW:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


@dataclass
class ClusterResult:
    """Clusters of the inputs of a :class:`ScalingTable`.

    Attributes
    ----------
    labels : np.ndarray
        (N,) cluster of every row of the table, 0..k-1, numbered by decreasing size.
    coords : np.ndarray
        (N, 2) position of every input on the 2-D map.
    index : np.ndarray
        (N,) the inputs' positions in their data set (for showing images).
    silhouette_by_k : dict[int, float]
        The silhouette of each k tried (empty when k was given).
    ari, nmi : dict[str, float]
        Agreement with the ``"domain"`` and ``"class"`` labels (NaN when only one label is present).
    typical : dict[int, list[int]]
        Per cluster, the rows closest to its centre, most typical first.
    composition : dict[str, np.ndarray]
        ``{"domain": (k, n_domains), "class": (k, n_classes)}`` counts of each label in each cluster.
    """

    labels: np.ndarray
    k: int
    method: str
    features: str
    silhouette: float
    silhouette_by_k: dict[int, float]
    ari: dict[str, float]
    nmi: dict[str, float]
    coords: np.ndarray
    embedding: str
    explained_variance: np.ndarray | None
    sizes: np.ndarray
    typical: dict[int, list[int]]
    composition: dict[str, np.ndarray]
    index: np.ndarray
    random_state: int
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict]:
        """One dict per cluster: size, share of the largest domain and class, typical rows."""
        return [
            {
                "cluster": c,
                "size": int(self.sizes[c]),
                "top_domain_share": float(self.composition["domain"][c].max() / max(self.sizes[c], 1)),
                "top_class_share": float(self.composition["class"][c].max() / max(self.sizes[c], 1)),
                "typical": self.typical[c],
            }
            for c in range(self.k)
        ]

    def to_dict(self) -> dict:
        return to_jsonable(self.__dict__)


def _features(table: ScalingTable, layer: str | Sequence[str] | None, standardise: bool) -> np.ndarray:
    x = table.matrix(layer)  # (N, D)
    sd = x.std(0)
    keep = sd > 1e-9 * max(1.0, float(np.abs(x).max()))
    if not np.any(keep):
        raise DataError(
            "Every input has the same scaling factors, so there is nothing to cluster.",
            "This happens with static methods and untrained MetaLoRA adapters: train a meta-cp / meta-tr adapter.",
        )
    x = x[:, keep]
    return (x - x.mean(0)) / sd[keep] if standardise else x - x.mean(0)


def cluster_features(
    x: np.ndarray,
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (2, 10),
    method: str = "kmeans",
    random_state: int = 0,
    silhouette_samples: int = 2000,
) -> tuple[np.ndarray, int, float, dict[int, float]]:
    """Cluster the rows of ``x`` (N, D): ``(labels, k, silhouette, silhouette per k tried)``."""
    from sklearn.metrics import silhouette_score

    n = len(x)
    if method not in ("kmeans", "agglomerative"):
        raise ConfigError(f"method={method!r} is not supported.", "Use 'kmeans' or 'agglomerative'.")
    if n < 3:
        raise DataError(f"{n} inputs are too few to cluster.", "Use at least 3 inputs (30+ is sensible).")
    if k is not None:
        if not 2 <= int(k) <= n - 1:
            raise ConfigError(f"k={k} clusters for {n} inputs is not possible.", f"Pick k in 2..{n - 1}.")
        candidates = [int(k)]
    else:
        lo, hi = int(k_range[0]), min(int(k_range[1]), n - 1)
        if lo < 2 or hi < lo:
            raise ConfigError(f"k_range={k_range} is not a valid range.", f"Use e.g. (2, {min(10, n - 1)}).")
        candidates = list(range(lo, hi + 1))
    sample = None if n <= silhouette_samples else int(silhouette_samples)
    best, scores = None, {}
    for kk in candidates:
        labels = _fit(x, kk, method, random_state)
        if len(np.unique(labels)) < 2:
            score = -1.0
        else:
            score = float(silhouette_score(x, labels, sample_size=sample, random_state=random_state))
        scores[kk] = score
        if best is None or score > best[2]:
            best = (labels, kk, score)
    labels, kk, score = best
    return _relabel_by_size(labels), kk, score, scores if k is None else {}


def _fit(x: np.ndarray, k: int, method: str, seed: int) -> np.ndarray:
    if method == "kmeans":
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x)


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Cluster 0 = the largest (ties by first appearance), so numbering is stable and readable."""
    uniq, first, counts = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], first[i]))
    mapping = {uniq[i]: new for new, i in enumerate(order)}
    return np.array([mapping[v] for v in labels], dtype=np.int64)


def _embed(x: np.ndarray, embed: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    if embed == "pca":
        from sklearn.decomposition import PCA

        dims = min(2, x.shape[1], len(x))
        pca = PCA(n_components=dims, random_state=seed).fit(x)
        coords = pca.transform(x)
        var = pca.explained_variance_ratio_
        if dims < 2:
            coords = np.pad(coords, ((0, 0), (0, 2 - dims)))
            var = np.pad(var, (0, 2 - dims))
        return coords, var
    if embed == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
        # 500 iterations (sklearn's default is 1,000): the map of ~2,000 inputs then takes ~3× less time,
        # which keeps the dashboard interactive, and the final KL divergence is within a few percent.
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=500)
        return tsne.fit_transform(x), None
    raise ConfigError(f"embed={embed!r} is not supported.", "Use 'pca' or 'tsne'.")


def _agreement(truth: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    if len(np.unique(truth)) < 2:
        return float("nan"), float("nan")
    return float(adjusted_rand_score(truth, labels)), float(normalized_mutual_info_score(truth, labels))


def cluster_scaling(
    table: ScalingTable,
    layer: str | Sequence[str] | None = None,
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (2, 10),
    method: str = "agglomerative",
    embed: str = "pca",
    standardise: bool = True,
    random_state: int = 0,
    n_typical: int = 5,
) -> ClusterResult:
    """Cluster the inputs of ``table`` by their scaling factors.

    Parameters
    ----------
    layer : str, list of str or None
        The scaling factors to use: one layer, several, or all layers side by side (default).
    k : int or None
        Number of clusters; ``None`` picks the k of ``k_range`` with the best silhouette.
    method : {"agglomerative", "kmeans"}
        Ward-linkage agglomerative clustering (default) or k-means (``n_init=4``). Ward groups the
        dashboard demo's inputs by kind better than k-means (both are measured over 3 seeds by
        ``benchmarks/bench_demo.py``: docs/results.md, "The dashboard's demo").
    embed : {"pca", "tsne"}
        The 2-D map. PCA is fast and linear; t-SNE shows local groups better but takes seconds.
    standardise : bool
        z-score every scaling factor first (factors that never change are dropped), so that each
        counts alike whatever its scale.
    """
    x = _features(table, layer, standardise)
    with _threads(len(x)):
        labels, kk, score, by_k = cluster_features(
            x, k=k, k_range=k_range, method=method, random_state=random_state
        )
        coords, var = _embed(x, embed, random_state)
    sizes = np.bincount(labels, minlength=kk)
    typical = {}
    for c in range(kk):
        rows = np.flatnonzero(labels == c)
        d = np.linalg.norm(x[rows] - x[rows].mean(0), axis=1)
        typical[c] = [int(r) for r in rows[np.argsort(d, kind="stable")[:n_typical]]]
    composition = {
        "domain": np.stack(
            [np.bincount(table.domain[labels == c], minlength=len(table.domain_names)) for c in range(kk)]
        ),
        "class": np.stack(
            [np.bincount(table.y[labels == c], minlength=len(table.class_names)) for c in range(kk)]
        ),
    }
    ari, nmi = {}, {}
    for name, truth in (("domain", table.domain), ("class", table.y)):
        ari[name], nmi[name] = _agreement(truth, labels)
    features = "all layers" if layer is None else layer if isinstance(layer, str) else ", ".join(layer)
    return ClusterResult(
        labels=labels,
        k=kk,
        method=method,
        features=features,
        silhouette=score,
        silhouette_by_k=by_k,
        ari=ari,
        nmi=nmi,
        coords=coords,
        embedding=embed,
        explained_variance=var,
        sizes=sizes,
        typical=typical,
        composition=composition,
        index=table.index.copy(),
        random_state=int(random_state),
    )


@dataclass(frozen=True)
class KindGroups:
    """How the kinds of input (the domains) fall into the groups found, in words a reader can check on the map.

    Each kind is placed by its *main group*, the group holding most of its inputs:

    Attributes
    ----------
    own : list of str
        Kinds whose main group holds at least ``min_share`` of their inputs and is no other kind's main group:
        the adapter treats them as a kind of their own.
    shared : list of list of str
        Kinds whose main group is the same, one list per such group: the adapter treats them alike.
    spread : list of str
        Kinds with no group holding ``min_share`` of their inputs (and not sharing one): scattered.
    """

    own: list[str]
    shared: list[list[str]]
    spread: list[str]


def kind_groups(result: ClusterResult, names: Sequence[str], min_share: float = 0.5) -> KindGroups:
    """Which kinds of input get a group of their own, which share one, which are spread (:class:`KindGroups`).

    ``names`` are the domain names of the table that was clustered (``table.domain_names``), in the order of
    the columns of ``result.composition["domain"]``; kinds without inputs are left out. The agreement scores
    (ARI, NMI) say *how much* the groups follow the kinds; this says *which* kinds they follow.
    """
    counts = np.asarray(result.composition["domain"])  # (k, n_domains)
    if counts.shape[1] != len(names):
        raise ConfigError(
            f"{len(names)} names for {counts.shape[1]} kinds of input.",
            "Pass the clustered table's domain_names.",
        )
    totals = counts.sum(0)
    present = [d for d in range(len(names)) if totals[d] > 0]
    main = {d: int(np.argmax(counts[:, d])) for d in present}
    share = {d: counts[main[d], d] / totals[d] for d in present}
    by_group: dict[int, list[int]] = {}
    for d in present:
        by_group.setdefault(main[d], []).append(d)
    own, shared, spread = [], [], []
    for d in present:
        kinds = by_group[main[d]]
        if len(kinds) > 1:
            if kinds[0] == d:  # each shared group once, in the order of its first kind
                shared.append([names[k] for k in kinds])
        elif share[d] >= min_share:
            own.append(names[d])
        else:
            spread.append(names[d])
    return KindGroups(own=own, shared=shared, spread=spread)
