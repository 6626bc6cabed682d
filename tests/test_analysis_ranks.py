"""Rank sweeps with TensorLy: planted ranks are recovered; model updates and spectra are consistent."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tensorly as tl
import torch
from tensorly.cp_tensor import cp_to_tensor
from tensorly.tr_tensor import tr_to_tensor

from metalora import MetaLoRAConfig, get_model
from metalora.analysis.ranks import compress, effective_rank, knee_rank, rank_sweep
from metalora.analysis.scaling import collect_scaling
from metalora.analysis.spectra import component_energy, core_spectra
from metalora.analysis.updates import analysis_view, layer_rank_sweep, model_rank_sweeps, update_tensor
from metalora.errors import ConfigError, DataError
from metalora.models import build_model
from tests.helpers import randomise_adapters

pytestmark = pytest.mark.usefixtures("one_torch_thread")


RNG = np.random.default_rng(0)


def _cp_tensor(rank=3, dims=(12, 10, 8, 6)):
    return cp_to_tensor((np.ones(rank), [RNG.standard_normal((d, rank)) for d in dims]))


def _tr_tensor(rank=3, dims=(12, 10, 9, 8)):
    return tr_to_tensor([RNG.standard_normal((rank, d, rank)) for d in dims])


def test_planted_cp_rank_is_recovered():
    sweep = rank_sweep(_cp_tensor(3), ranks=range(1, 7), methods=("cp", "tucker"))
    assert sweep.effective_rank["cp"] == 3 and sweep.rule["cp"] == "tolerance"
    assert sweep.errors["cp"][1] > 0.1 and sweep.errors["cp"][2] < 1e-3
    assert np.all(np.diff(sweep.errors["cp"]) <= 1e-12)  # best found up to each rank


def test_the_sweep_says_which_rule_chose_the_effective_rank_and_its_error():
    within = rank_sweep(_cp_tensor(2, (8, 7, 6)), ranks=range(1, 5), methods=("cp",))
    assert within.rule["cp"] == "tolerance" and within.within_tol("cp")
    assert within.effective_error["cp"] == within.errors["cp"][1] <= within.tol
    # a matrix whose singular values drop after two and then decline slowly: no rank up to 4 reaches 10 %
    u, _ = np.linalg.qr(RNG.standard_normal((8, 8)))
    v, _ = np.linalg.qr(RNG.standard_normal((8, 8)))
    sv = np.array([10.0, 5.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    knee = rank_sweep(u @ np.diag(sv) @ v.T, ranks=range(1, 5), methods=("tucker",))
    expected = np.sqrt([np.sum(sv[r:] ** 2) / np.sum(sv**2) for r in range(1, 5)])
    np.testing.assert_allclose(knee.errors["tucker"], expected, rtol=1e-6)
    assert (
        knee.effective_rank["tucker"] == 2 and knee.rule["tucker"] == "knee" and not knee.within_tol("tucker")
    )
    assert knee.effective_error["tucker"] == pytest.approx(expected[1]) and expected[1] > knee.tol
    zero = rank_sweep(np.zeros((3, 4)), ranks=[1], methods=("cp",))
    assert zero.within_tol("cp") and zero.effective_error["cp"] == 0.0


def test_cp_beyond_the_rank_of_the_tensor_keeps_the_exact_fit():
    sweep = rank_sweep(np.outer(np.arange(1.0, 7.0), np.arange(1.0, 5.0)), ranks=range(1, 4), methods=("cp",))
    assert sweep.effective_rank["cp"] == 1 and sweep.errors["cp"][0] < 1e-6
    assert np.all(sweep.errors["cp"] < 1e-6) and any("singular" in n for n in sweep.notes)


def test_planted_tr_rank_is_recovered():
    sweep = rank_sweep(_tr_tensor(3), ranks=range(1, 6), methods=("tr",), tr_als_iter=30)
    assert sweep.effective_rank["tr"] == 3
    assert sweep.errors["tr"][1] > 0.1 and sweep.errors["tr"][2] < 1e-3


def test_tensor_ring_lowered_bonds_are_reported():
    x = _tr_tensor(2, dims=(9, 2, 8))
    sweep = rank_sweep(x, ranks=[4], methods=("tr",), tr_als_iter=0)
    bonds = sweep.used_ranks["tr"][0]
    assert min(bonds) < 4
    assert any("bond ranks" in n for n in sweep.notes)


def test_zero_tensor_compression_and_rules():
    zero = rank_sweep(np.zeros((4, 5, 6)), ranks=[1, 2])
    assert zero.effective_rank == {"cp": 0, "tucker": 0, "tr": 0} and zero.notes
    x = _cp_tensor(2, (7, 6, 5))
    core, bases, residual, spectra = compress(x)
    back = core
    for k, u in enumerate(bases):
        back = np.moveaxis(np.tensordot(u, np.moveaxis(back, k, 0), axes=1), 0, k)
    np.testing.assert_allclose(back, x, atol=1e-8)
    assert core.shape == (2, 2, 2) and residual < 1e-12 and len(spectra) == 3
    assert effective_rank([1, 2, 3], [0.5, 0.05, 0.0]) == (2, "tolerance")
    assert knee_rank([1, 2, 3, 4, 5, 6], [1.0, 0.3, 0.25, 0.2, 0.18, 0.16]) == 2
    assert effective_rank([1, 2, 3, 4, 5, 6], [1.0, 0.3, 0.25, 0.2, 0.18, 0.16])[1] == "knee"
    assert effective_rank([1, 2, 3, 4], [0.9, 0.7, 0.5, 0.3]) == (4, "max")  # no bend: all ranks used
    with pytest.raises(ConfigError):
        rank_sweep(x, methods=("svd",))
    with pytest.raises(DataError):
        rank_sweep(np.ones(3))


def test_backend_is_set_per_thread_only():
    before = tl.get_backend()
    x = _cp_tensor(2, (6, 5, 4))
    seen = {}

    def work():
        tl.set_backend("pytorch", local_threadsafe=True)
        try:
            seen["sweep"] = rank_sweep(x, ranks=[1, 2], methods=("cp", "tr"))
        finally:
            seen["after"] = tl.get_backend()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen["after"] == "pytorch" and tl.get_backend() == before
    assert seen["sweep"].effective_rank["cp"] == 2


@pytest.fixture(scope="module")
def meta_cp():
    torch.manual_seed(0)
    base = build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16))
    model = get_model(base, MetaLoRAConfig(method="meta-cp", rank=3)).eval()
    randomise_adapters(model, 0.3)
    table = collect_scaling(model, torch.rand(40, 1, 16, 16), predict=False)
    return model, table


def test_update_stack_of_a_meta_layer(meta_cp):
    model, table = meta_cp
    name = "stages.0.0.conv1"
    x, labels = update_tensor(model, name, table, n_inputs=16)
    assert x.shape == (16, 8, 8, 3, 3) and labels[0] == "inputs"
    view, vlabels = analysis_view(x, labels)
    assert view.shape == (16, 8, 8, 9) and vlabels[-1] == "kernel (3×3)"
    sweep = layer_rank_sweep(model, name, table, n_inputs=16, methods=("cp",), n_iter_max=50)
    assert sweep.ranks == [1, 2, 3]
    assert sweep.errors["cp"][-1] < 0.05  # a rank-3 MetaLoRA-CP stack has CP rank <= 3
    assert len(sweep.mode_spectra) == 4 and sweep.mode_spectra[0].shape == (16,)
    assert np.sum(sweep.mode_spectra[0] > 1e-6 * sweep.mode_spectra[0][0]) <= 3  # <= R input directions
    with pytest.raises(ConfigError, match="depends on the input"):
        update_tensor(model, name)


def test_static_update_spectra_and_energy(meta_cp):
    model, table = meta_cp
    torch.manual_seed(1)
    base = build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16))
    tr = get_model(base, MetaLoRAConfig(method="tr", rank=2)).eval()
    randomise_adapters(tr, 0.3)
    sweeps = model_rank_sweeps(tr, layers=["fc"], methods=("tucker",))
    assert sweeps["fc"].shape == (10, 16)
    spectra = core_spectra(tr)["stages.0.0.conv1"]
    assert {s.factor for s in spectra} == {"G1", "G2", "G3", "G4"} and len(spectra) == 12
    assert all(np.all(np.diff(s.values) <= 1e-9) for s in spectra)
    energy = component_energy(model, table)
    e = energy["fc"]
    assert e.share.sum() == pytest.approx(1.0) and e.alive.all()
    dead = table.subset(np.arange(len(table)))
    dead.factors["fc"][:, 0] = 0.0
    assert not component_energy(model, dead, layers=["fc"])["fc"].alive[0]
