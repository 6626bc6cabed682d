"""Per-input clusters: planted groups are found, results repeat exactly, errors are clear."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from metalora.analysis.clusters import KindGroups, cluster_scaling, kind_groups
from metalora.analysis.scaling import ScalingTable
from metalora.errors import ConfigError, DataError


def _planted(n_per=40, seed=0) -> ScalingTable:
    """Three domains with well separated centres of the scaling factors in two layers; classes are random."""
    rng = np.random.default_rng(seed)
    domain = np.repeat([0, 1, 2], n_per)
    n = len(domain)
    c1 = rng.standard_normal((3, 4)) * 3
    c2 = rng.standard_normal((3, 2)) * 3
    factors = {
        "layer1": (c1[domain] + 0.3 * rng.standard_normal((n, 4))).astype(np.float32),
        "layer2": (c2[domain] + 0.3 * rng.standard_normal((n, 2))).astype(np.float32),
        "flat": np.ones((n, 3), np.float32),  # a layer that never changes: dropped, no division by 0
    }
    y = rng.integers(0, 5, n)
    return ScalingTable(
        factors,
        y,
        domain,
        np.full(n, -1),
        np.zeros(n, bool),
        np.arange(100, 100 + n),
        [str(i) for i in range(5)],
        ["a", "b", "c"],
    )


def test_planted_clusters_are_recovered():
    table = _planted()
    res = cluster_scaling(table)
    assert res.k == 3 and set(res.silhouette_by_k) == set(range(2, 11))
    assert res.silhouette == max(res.silhouette_by_k.values())
    assert res.ari["domain"] >= 0.9 and res.nmi["domain"] >= 0.9
    assert abs(res.ari["class"]) < 0.2
    assert res.coords.shape == (len(table), 2) and res.explained_variance.shape == (2,)
    assert list(res.sizes) == sorted(res.sizes, reverse=True) and res.sizes.sum() == len(table)
    for c, rows in res.typical.items():
        assert len(rows) == 5 and np.all(res.labels[rows] == c)
    assert res.composition["domain"].sum(1).tolist() == res.sizes.tolist()
    np.testing.assert_array_equal(res.index, table.index)
    json.dumps(res.to_dict())
    assert len(res.rows()) == 3


def test_results_repeat_exactly_for_a_seed():
    table = _planted()
    for kwargs in ({}, {"method": "agglomerative", "k": 3}, {"embed": "tsne", "k": 3}):
        a = cluster_scaling(table, random_state=7, **kwargs)
        b = cluster_scaling(table, random_state=7, **kwargs)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.coords, b.coords)
        assert a.silhouette == b.silhouette
        assert a.ari["domain"] >= 0.9


def test_options_and_errors():
    table = _planted()
    one = cluster_scaling(table, "layer2", k=4)
    assert one.k == 4 and one.features == "layer2" and one.silhouette_by_k == {}
    with pytest.raises(DataError, match="same scaling factors"):
        cluster_scaling(table, "flat")
    with pytest.raises(ConfigError):
        cluster_scaling(table, method="dbscan")
    with pytest.raises(ConfigError):
        cluster_scaling(table, k=1000)
    with pytest.raises(ConfigError):
        cluster_scaling(table, embed="umap")


def test_kind_groups_name_the_kinds_that_share_a_group():
    """Four kinds, two of them with the same scaling factors: those two share a group, the others own one."""
    rng = np.random.default_rng(3)
    domain = np.repeat([0, 1, 2, 3], 30)
    centres = rng.standard_normal((3, 5)) * 4
    same = np.array([0, 1, 2, 2])[domain]  # kinds "c" and "d" get identical centres
    x = (centres[same] + 0.2 * rng.standard_normal((len(domain), 5))).astype(np.float32)
    n = len(domain)
    table = ScalingTable(
        {"layer": x}, rng.integers(0, 3, n), domain, np.full(n, -1), np.zeros(n, bool), np.arange(n),
        ["0", "1", "2"], ["a", "b", "c", "d"],
    )  # fmt: skip
    res = cluster_scaling(table)
    groups = kind_groups(res, table.domain_names)
    assert groups.own == ["a", "b"] and groups.shared == [["c", "d"]] and groups.spread == []


def test_kind_groups_spread_and_absent_kinds():
    """A kind scattered over groups is 'spread'; a kind without inputs is left out; names must fit."""
    res = cluster_scaling(_planted())
    # groups × kinds; "c" has 10 of its 25 inputs in its main group, "d" has none
    counts = np.array([[40, 0, 5, 0], [0, 40, 5, 0], [0, 0, 10, 0], [0, 0, 5, 0]])
    res = dataclasses.replace(res, composition={**res.composition, "domain": counts}, k=4)
    groups = kind_groups(res, ["a", "b", "c", "d"])
    assert groups == KindGroups(own=["a", "b"], shared=[], spread=["c"])
    with pytest.raises(ConfigError, match="4 kinds"):
        kind_groups(res, ["a", "b"])
