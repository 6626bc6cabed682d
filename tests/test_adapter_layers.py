"""The factored forward of every adapter layer equals the dense update applied with plain F.conv2d /
F.linear, per input, for every conv geometry; the dense update equals TensorLy's reconstruction."""

from __future__ import annotations

import pytest
import tensorly as tl
import torch
import torch.nn.functional as F
from tensorly.cp_tensor import cp_to_tensor
from tensorly.tr_tensor import tr_to_tensor
from torch import nn

from metalora.adapters.contraction import PATHS, candidates, cost_choice
from metalora.adapters.injection import DISPATCH
from metalora.methods import get_method
from tests.helpers import METHODS, randomise_adapters, reference_conv

CONVS = {
    "3x3 pad 1": dict(in_channels=4, out_channels=6, kernel_size=3, padding=1),
    "stride 2": dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1),
    "same": dict(in_channels=4, out_channels=6, kernel_size=3, padding="same"),
    "same, even kernel, dilation 2": dict(
        in_channels=4, out_channels=6, kernel_size=4, padding="same", dilation=2
    ),
    "dilation 2": dict(in_channels=4, out_channels=6, kernel_size=3, padding=2, dilation=2),
    "groups 2": dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2),
    "depthwise": dict(in_channels=6, out_channels=6, kernel_size=3, padding=1, groups=6),
    "reflect": dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, padding_mode="reflect"),
    "circular": dict(in_channels=4, out_channels=6, kernel_size=3, padding=2, padding_mode="circular"),
    "replicate, stride 2": dict(
        in_channels=4, out_channels=6, kernel_size=3, padding=1, stride=2, padding_mode="replicate"
    ),
    "no bias": dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, bias=False),
    "non-square 3x5": dict(in_channels=4, out_channels=6, kernel_size=(3, 5), padding=(1, 2), stride=(2, 1)),
    "1x1": dict(in_channels=4, out_channels=6, kernel_size=1),
    "valid": dict(in_channels=4, out_channels=6, kernel_size=3, padding="valid"),
}


def meta(method: str) -> bool:
    return get_method(method).input_conditioned


def make_layer(method: str, base: nn.Module, rank: int = 3):
    cls = DISPATCH[
        (get_method(method).tensor_format, nn.Conv2d if isinstance(base, nn.Conv2d) else nn.Linear)
    ]
    layer = cls(base, rank=rank, alpha=2.0 * rank, input_conditioned=meta(method))
    randomise_adapters(layer)
    return layer


def set_scaling(layer, method: str, batch: int) -> None:
    if meta(method):
        g = torch.Generator().manual_seed(1)
        layer.input_scaling = 1 + 0.5 * torch.randn(batch, layer.rank, generator=g, dtype=torch.float64)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("geometry", list(CONVS))
def test_conv_factored_forward_matches_dense_update(method, geometry):
    torch.manual_seed(0)
    base = nn.Conv2d(**CONVS[geometry]).double()
    layer = make_layer(method, base)
    x = torch.randn(3, base.in_channels, 9, 10, dtype=torch.float64)
    set_scaling(layer, method, 3)
    y = layer(x)
    delta = layer.delta_weight(layer.input_scaling)  # (B, *W0.shape) for MetaLoRA, W0.shape otherwise
    assert delta.shape[-4:] == base.weight.shape
    for i in range(x.shape[0]):
        d = delta[i] if meta(method) else delta
        ref = reference_conv(base, x[i : i + 1], base.weight + d)
        assert y[i : i + 1].shape == ref.shape
        assert relative_error(y[i : i + 1], ref) < 1e-10
    assert relative_error(y, base(x)) > 1e-3, "the update must not be zero after randomising"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(5, 7), (5, 4, 7), (2, 3, 4, 7)])
def test_linear_factored_forward_matches_dense_update(method, shape):
    torch.manual_seed(0)
    base = nn.Linear(7, 6).double()
    layer = make_layer(method, base)
    x = torch.randn(*shape, dtype=torch.float64)
    set_scaling(layer, method, shape[0])
    y = layer(x)
    delta = layer.delta_weight(layer.input_scaling)
    for i in range(shape[0]):
        d = delta[i] if meta(method) else delta
        ref = F.linear(x[i], base.weight + d, base.bias)
        assert relative_error(y[i], ref) < 1e-10


def dense_reference(layer, x: torch.Tensor, seed: torch.Tensor | None) -> torch.Tensor:
    """The layer's output through its dense update, input by input (autograd flows into factors and seed)."""
    base = layer.base_layer
    delta = layer.delta_weight(seed)
    outs = []
    for i in range(x.shape[0]):
        w = base.weight + (delta[i] if seed is not None and seed.dim() == 2 else delta)
        if isinstance(base, nn.Conv2d):
            outs.append(reference_conv(base, x[i : i + 1], w))
        else:
            outs.append(F.linear(x[i : i + 1], w, base.bias))
    return torch.cat(outs)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "case",
    ["3x3 pad 1", "stride 2", "groups 2", "reflect", "channels-last input", "linear 2-D", "linear 3-D"],
)
def test_gradients_match_dense_update(method, case):
    """The factored backward (hand-written for the fused projection) gives the dense update's gradients
    for the input, every factor and the seed."""
    torch.manual_seed(0)
    if case.startswith("linear"):
        base = nn.Linear(7, 6).double()
        x = torch.randn(*((3, 7) if case == "linear 2-D" else (3, 4, 7)), dtype=torch.float64)
    else:
        base = nn.Conv2d(**CONVS.get(case, CONVS["3x3 pad 1"])).double()
        x = torch.randn(3, base.in_channels, 9, 10, dtype=torch.float64)
        if case == "channels-last input":
            x = x.contiguous(memory_format=torch.channels_last)
    layer = make_layer(method, base)
    set_scaling(layer, method, 3)
    assert_gradients_match_dense_update(layer, x)


def assert_gradients_match_dense_update(layer, x: torch.Tensor) -> None:
    seed = layer.input_scaling.clone().requires_grad_(True) if layer.input_scaling is not None else None
    layer.input_scaling = seed
    leaves = [p for n, p in layer.named_parameters() if n.startswith("adapter_")]
    leaves += [seed] if seed is not None else []
    grads = []
    for forward in (layer, lambda x: dense_reference(layer, x, seed)):
        xg = x.clone().requires_grad_(True)
        y = forward(xg)
        weights = torch.randn(y.shape, generator=torch.Generator().manual_seed(2), dtype=y.dtype)
        grads.append(torch.autograd.grad((y * weights).sum(), [xg, *leaves]))
    for got, expected in zip(*grads, strict=True):
        assert relative_error(got, expected) < 1e-10


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("contraction", PATHS)
@pytest.mark.parametrize("geometry", [*CONVS, "channels-last input"])
def test_conv_every_contraction_matches_dense_update(method, contraction, geometry):
    """Every contraction a conv layer has (factored, composed, the per-input kernel) gives the dense update's
    output and gradients, for every geometry."""
    torch.manual_seed(0)
    base = nn.Conv2d(**CONVS.get(geometry, CONVS["3x3 pad 1"])).double()
    layer = make_layer(method, base)
    if contraction not in layer.paths:
        assert contraction == "composed" and layer.tensor_format == "lora"
        return
    layer.contraction = contraction
    x = torch.randn(3, base.in_channels, 9, 10, dtype=torch.float64)
    if geometry == "channels-last input":
        x = x.contiguous(memory_format=torch.channels_last)
    set_scaling(layer, method, 3)
    y = layer(x)
    assert layer.last_contraction == (contraction, "forced")
    assert relative_error(y, dense_reference(layer, x, layer.input_scaling)) < 1e-10
    assert_gradients_match_dense_update(layer, x)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(5, 7), (5, 4, 7), (2, 3, 4, 7), (7,)])
def test_linear_kernel_contraction_matches_dense_update(method, shape):
    """The kernel path of a Linear (one batched matmul with W0 + ΔW(x) per input, over its tokens)."""
    torch.manual_seed(0)
    base = nn.Linear(7, 6).double()
    layer = make_layer(method, base)
    layer.contraction = "kernel"
    x = torch.randn(*shape, dtype=torch.float64)
    batch = shape[0] if len(shape) > 1 else 1
    set_scaling(layer, method, batch)
    y = layer(x)
    assert layer.last_contraction == ("kernel", "forced")
    delta = layer.delta_weight(layer.input_scaling)
    xs = x if len(shape) > 1 else x[None]
    for i in range(batch):
        d = delta[i] if meta(method) else delta
        ref = F.linear(xs[i], base.weight + d, base.bias)
        assert relative_error(y[i] if len(shape) > 1 else y, ref) < 1e-10
    if len(shape) in (2, 3):
        assert_gradients_match_dense_update(layer, x)


@pytest.mark.parametrize("method", METHODS)
def test_float32_within_1e4_relative(method):
    torch.manual_seed(0)
    base = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2)
    layer = make_layer(method, base, rank=4)
    x = torch.randn(4, 8, 12, 12)
    set_scaling(layer, method, 4)
    if layer.input_scaling is not None:
        layer.input_scaling = layer.input_scaling.float()
    y = layer(x)
    delta = layer.delta_weight(layer.input_scaling)
    for i in range(4):
        d = delta[i] if meta(method) else delta
        assert relative_error(y[i : i + 1], reference_conv(base, x[i : i + 1], base.weight + d)) < 1e-4


def test_cp_update_equals_tensorly_reconstruction():
    torch.manual_seed(0)
    layer = make_layer("meta-cp", nn.Conv2d(4, 6, (3, 2)).double())
    seed = torch.randn(2, layer.rank, dtype=torch.float64)
    delta = layer.delta_weight(seed)
    tl.set_backend("pytorch")
    try:
        for i in range(2):
            factors = [layer.adapter_A, layer.adapter_B, layer.adapter_C, layer.adapter_D]
            expected = layer.update_scale * cp_to_tensor((seed[i], [f.detach() for f in factors]))
            assert relative_error(delta[i], expected) < 1e-12
    finally:
        tl.set_backend("numpy")


def test_tr_update_equals_tensorly_reconstruction():
    torch.manual_seed(0)
    layer = make_layer("meta-tr", nn.Conv2d(4, 6, 3).double())
    seed = torch.randn(2, layer.rank, dtype=torch.float64)
    delta = layer.delta_weight(seed)
    tl.set_backend("pytorch")
    try:
        for i in range(2):
            # diag(s) on the bond that closes the ring = the last core's last index scaled by s.
            g4 = layer.adapter_G4.detach() * seed[i][None, None, :]
            cores = [layer.adapter_G1.detach(), layer.adapter_G2.detach(), layer.adapter_G3.detach(), g4]
            expected = layer.update_scale * tr_to_tensor(cores)
            assert relative_error(delta[i], expected) < 1e-12
    finally:
        tl.set_backend("numpy")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ["conv", "linear"])
def test_zero_initialisation_leaves_output_unchanged(method, kind):
    """ΔW = 0 at the start: the factored path adds exactly zero; the kernel path runs W0 + 0 in one conv or
    matmul over the batch, equal up to the order of the sums."""
    torch.manual_seed(0)
    base = nn.Conv2d(4, 6, 3, padding=1) if kind == "conv" else nn.Linear(4, 6)
    cls = DISPATCH[(get_method(method).tensor_format, type(base))]
    layer = cls(base, rank=3, alpha=6.0, input_conditioned=meta(method))
    x = torch.randn(2, 4, 5, 5) if kind == "conv" else torch.randn(2, 4)
    if meta(method):
        layer.input_scaling = torch.rand(2, 3) + 0.5
    for path in layer.paths:
        layer.contraction = path
        if path == "kernel":
            torch.testing.assert_close(layer(x), base(x), rtol=1e-6, atol=1e-6)
        else:
            assert torch.equal(layer(x), base(x)), path
    assert layer.delta_weight(layer.input_scaling).abs().max() == 0


def test_cost_model_follows_the_shape():
    """Without timing, the cost model picks: a narrow TR conv runs the composed kernel (R² = 64 ring channels
    outnumber its 16), a wide one the factored path, a depthwise MetaLoRA conv its per-input kernel."""
    conv = nn.Conv2d

    def pick(base, rank, method="meta-tr", size=32, batch=8):
        layer = make_layer(method, base, rank=rank)
        x = torch.randn(batch, base.in_channels, size, size)
        return cost_choice(layer, x, batch, train=True)

    assert pick(conv(64, 64, 3, padding=1), 8, size=16) == "factored"
    assert pick(conv(16, 16, 3, padding=1), 4, size=8) == "factored"
    assert pick(conv(16, 16, 3, padding=1), 8) in ("composed", "kernel")
    assert pick(conv(3, 64, 7, stride=2), 4) == "composed"
    for method in ("meta-tr", "meta-cp", "lora", "tr"):
        assert pick(conv(32, 32, 3, padding=1, groups=32), 8, method) == "kernel", method


def test_kernel_path_is_offered_only_where_it_is_exact_and_fits():
    """No kernel path with adapter dropout in training, for a Conv2d subclass with its own forward, or when
    the per-input kernels would hold more than the layer's input (and 2**20 elements)."""

    class Standardised(nn.Conv2d):  # changes its weight in forward, as timm's StdConv2d does
        def forward(self, x):
            w = (self.weight - self.weight.mean()) / self.weight.std()
            return F.conv2d(x, w, self.bias, self.stride, self.padding)

    x = torch.randn(2, 4, 8, 8)
    layer = make_layer("meta-tr", nn.Conv2d(4, 6, 3, padding=1))
    assert "kernel" in candidates(layer, x, 2)
    assert "kernel" not in candidates(make_layer("meta-tr", Standardised(4, 6, 3, padding=1)), x, 2)
    cls = DISPATCH[("tr", nn.Conv2d)]
    dropped = cls(nn.Conv2d(4, 6, 3, padding=1), rank=3, alpha=6.0, dropout=0.1, input_conditioned=True)
    assert "kernel" not in candidates(dropped.train(), x, 2)
    assert "kernel" in candidates(dropped.eval(), x, 2)
    big = make_layer("meta-cp", nn.Conv2d(512, 512, 3, padding=1))
    small_input = torch.randn(8, 512, 4, 4)  # 8 kernels of 2.4 M elements against a 65 k-element input
    assert "kernel" not in candidates(big, small_input, 8)
    assert "kernel" in candidates(make_layer("cp", nn.Conv2d(512, 512, 3, padding=1)), small_input, 8)
    # Forced where it is not valid: the cost model picks instead, and says so.
    layer = make_layer("meta-tr", Standardised(4, 6, 3, padding=1))
    layer.contraction = "kernel"
    layer.input_scaling = torch.rand(2, 3) + 0.5
    layer(x)
    assert layer.last_contraction[1] == "cost" and layer.last_contraction[0] != "kernel"
