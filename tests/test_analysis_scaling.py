"""Scaling-factor analysis: collecting the scaling factors into a ScalingTable and its summaries."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from metalora import MetaLoRAConfig, get_model
from metalora.analysis.scaling import InputFacts, ScalingTable, collect_scaling
from metalora.analysis.scaling_summaries import (
    compare_inputs,
    component_usage,
    nearest_inputs,
    scaling_distance,
    scaling_stats,
)
from metalora.data import load_builtin
from metalora.errors import ConfigError, ModelError
from metalora.models import build_model
from tests.helpers import randomise_adapters

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits():
    return load_builtin("digits", image_size=16, domains=("clean", "inverted"), samples_per_class=6).train


def _model(method: str = "meta-tr", rank: int = 4):
    torch.manual_seed(0)
    base = build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16))
    model = get_model(base, MetaLoRAConfig(method=method, rank=rank)).eval()
    randomise_adapters(model, 0.3)
    return model


def _table(factors: dict, domain, y=None) -> ScalingTable:
    n = len(domain)
    y = np.zeros(n, np.int64) if y is None else np.asarray(y)
    return ScalingTable(
        {k: np.asarray(v, np.float32) for k, v in factors.items()},
        y,
        np.asarray(domain),
        np.full(n, -1),
        np.zeros(n, bool),
        np.arange(n),
        [str(i) for i in range(int(y.max()) + 1)],
        [f"d{i}" for i in range(int(np.max(domain)) + 1)],
    )


def test_collect_matches_the_model(digits):
    model = _model()
    digits = digits.subset(np.arange(20))
    table = collect_scaling(model, digits, batch_size=8)
    assert len(table) == len(digits)
    assert table.layers == list(model.adapted_layers())
    x = torch.as_tensor(digits.x)
    with torch.no_grad():
        expected = model.scaling_factors(x)
        pred = model(x).argmax(1).numpy()
    for name, s in expected.items():
        assert table.factors[name].shape == (len(digits), 4)
        np.testing.assert_allclose(table.factors[name], s.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(table.pred, pred)
    np.testing.assert_array_equal(table.correct, pred == digits.y)
    np.testing.assert_array_equal(table.y, digits.y)
    np.testing.assert_array_equal(table.domain, digits.domain)
    assert table.domain_names == digits.domain_names
    json.dumps(table.to_dict())


def test_subsample_is_reproducible_and_restores_mode(digits):
    model = _model().train()
    a = collect_scaling(model, digits, max_inputs=10, seed=3, predict=False)
    b = collect_scaling(model, digits, max_inputs=10, seed=3, predict=False)
    assert model.training
    np.testing.assert_array_equal(a.index, b.index)
    assert list(a.index) == sorted(a.index) and len(a) == 10
    assert np.all(a.pred == -1) and not a.correct.any()
    np.testing.assert_array_equal(a.y, digits.y[a.index])


def test_static_methods_give_constant_scaling_factors_and_lora_has_none(digits):
    model = _model("cp")
    table = collect_scaling(model, digits.x[:8])
    for name, adapter in model.adapted_layers().items():
        np.testing.assert_allclose(
            table.factors[name], np.tile(adapter.adapter_core.detach().numpy(), (8, 1))
        )
    with pytest.raises(ConfigError, match="LoRA has no scaling factors"):
        collect_scaling(_model("lora"), digits)
    with pytest.raises(ModelError):
        collect_scaling(torch.nn.Linear(3, 2), digits)


def test_group_stats_and_specificity():
    rng = np.random.default_rng(0)
    domain = np.repeat([0, 1, 2], 20)
    centres = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    factors = {"a": centres[domain] + 0.01 * rng.standard_normal((60, 2)), "b": rng.standard_normal((60, 3))}
    stats = scaling_stats(_table(factors, domain))
    a = stats["a"]
    assert a.groups == ["d0", "d1", "d2"] and list(a.counts) == [20, 20, 20]
    np.testing.assert_allclose(a.mean[:, 0], [0, 1, 2], atol=0.01)
    np.testing.assert_allclose(a.std[1], factors["a"][domain == 1].astype(np.float32).std(0), rtol=1e-4)
    assert a.eta_squared[0] > 0.99 and a.eta_squared_total > 0.9
    assert stats["b"].eta_squared_total < 0.3
    assert len(a.rows()) == 3 * 2


def test_component_usage_and_distances():
    rng = np.random.default_rng(1)
    s = 1 + 0.1 * rng.standard_normal((30, 4))
    s[5, 2] = 3.0  # input 5 turns component 2 far up
    table = _table({"a": s, "b": np.ones((30, 2))}, np.zeros(30, int))
    top = component_usage(table, 5, k=2)["a"]
    assert top[0]["component"] == 2 and top[0]["score"] > 3
    assert component_usage(table, 5, k=1, relative=False)["a"][0]["component"] == 2
    d = scaling_distance(table, 5, 6)
    a = table.factors["a"].astype(np.float64)
    assert d.per_layer["b"] == 0.0
    assert d.overall == pytest.approx(np.linalg.norm(a[5] - a[6]))
    assert scaling_distance(table, 3, 3, metric="cosine").overall == pytest.approx(0.0, abs=1e-9)
    assert 5 not in nearest_inputs(table, 5, k=4) and len(nearest_inputs(table, 5, k=4)) == 4
    with pytest.raises(ConfigError):
        scaling_distance(table, 0, 99)


def test_groupings_and_the_rows_of_each_group():
    domain = np.array([0, 2, 2, 0, 2])  # domain 1 holds no input
    table = _table({"a": np.arange(10.0).reshape(5, 2)}, domain, y=[1, 0, 1, 1, 0])
    groups = table.group_rows("domain")
    assert list(groups) == ["d0", "d2"]
    np.testing.assert_array_equal(groups["d0"], [0, 3])
    np.testing.assert_array_equal(groups["d2"], [1, 2, 4])
    assert {k: list(v) for k, v in table.group_rows("class").items()} == {"0": [1, 4], "1": [0, 2, 3]}
    assert list(table.group_rows("correct")) == ["wrong"]  # no prediction is correct
    with pytest.raises(ConfigError, match="not a grouping"):
        table.group_rows("colour")
    stats = scaling_stats(table, "domain")["a"]
    assert stats.groups == list(groups) and list(stats.counts) == [2, 3]


def test_compare_inputs_with_the_average_and_with_a_second_input():
    rng = np.random.default_rng(2)
    table = _table({"a": rng.standard_normal((12, 3)), "b": rng.standard_normal((12, 2))}, np.zeros(12, int))
    one = compare_inputs(table, 4)
    assert (
        one.columns == ["a[0]", "a[1]", "a[2]", "b[0]", "b[1]"] and one.rows == [4] and one.distance is None
    )
    np.testing.assert_allclose(one.values[0], table.matrix()[4])
    np.testing.assert_allclose(one.average, table.matrix().mean(0))
    assert one.inputs == [InputFacts(index=4, label="0", domain="d0", predicted=None)]  # no prediction
    assert one.index == [int(table.index[4])]
    two = compare_inputs(table, 4, 7, standardise=True)
    assert two.average is None and two.rows == [4, 7] and two.values.shape == (2, 5)
    assert two.distance.overall == pytest.approx(scaling_distance(table, 4, 7, standardise=True).overall)
    assert two.distance.overall != pytest.approx(scaling_distance(table, 4, 7).overall)
    json.dumps(two.to_dict())
    with pytest.raises(ConfigError, match="Row 12 does not exist"):
        compare_inputs(table, 12)
