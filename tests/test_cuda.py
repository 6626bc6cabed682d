"""What only a CUDA GPU can show: every contraction exact on the GPU (float32, and close under bf16 autocast),
the timed planner keyed by the GPU's name, ``torch.compile`` with inductor, and a real out-of-memory error
in a dashboard job, after which the next job runs. ``benchmarks/gpu_check.sh`` runs this file; without a GPU it
is skipped as a whole."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from metalora import MetaLoRAConfig, get_model
from metalora.adapters import contraction
from metalora.adapters.injection import DISPATCH
from metalora.data import DataSpec
from metalora.errors import TrainingError
from metalora.training.loop import TrainConfig
from metalora.training.run_registry import RunRegistry
from tests.helpers import METHODS, TinyResNet, randomise_adapters

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CUDA = torch.device("cuda")


def _layer(method: str, base: nn.Module):
    from metalora.methods import get_method

    entry = get_method(method)
    cls = DISPATCH[(entry.tensor_format, nn.Conv2d if isinstance(base, nn.Conv2d) else nn.Linear)]
    layer = cls(base, rank=4, alpha=8.0, input_conditioned=entry.input_conditioned)
    randomise_adapters(layer)
    return layer.to(CUDA)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("groups", [1, 2, 8])
def test_every_contraction_is_exact_on_the_gpu(method, groups):
    torch.manual_seed(0)
    layer = _layer(method, nn.Conv2d(8, 8, 3, padding=1, groups=groups))
    x = torch.randn(4, 8, 12, 12, device=CUDA)
    if layer.input_conditioned:
        layer.input_scaling = 1 + 0.3 * torch.randn(4, 4, device=CUDA)
    delta = layer.delta_weight(layer.input_scaling)
    base = layer.base_layer
    reference = torch.cat(
        [
            nn.functional.conv2d(
                x[i : i + 1],
                base.weight + (delta[i] if delta.dim() == 5 else delta),
                base.bias,
                1,
                1,
                1,
                groups,
            )
            for i in range(4)
        ]
    )
    for path in layer.paths:
        layer.contraction = path
        torch.testing.assert_close(layer(x), reference, rtol=1e-4, atol=1e-4, msg=path)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            y = layer(x)
        assert y.dtype == torch.bfloat16
        assert ((y.float() - reference).norm() / reference.norm()).item() < 3e-2, path


def test_the_timed_planner_keys_its_choice_by_the_gpu(monkeypatch, tmp_path):
    monkeypatch.setenv("METALORA_CONTRACTION_TIMING", "1")
    monkeypatch.setenv("METALORA_CACHE_DIR", str(tmp_path))
    contraction.forget_cache()
    layer = _layer("meta-tr", nn.Conv2d(16, 16, 3, padding=1))
    layer.input_scaling = torch.rand(8, 4, device=CUDA) + 0.5
    layer(torch.randn(8, 16, 32, 32, device=CUDA, requires_grad=True)).sum().backward()
    assert layer.last_contraction[1] == "timed"
    assert torch.cuda.get_device_name(CUDA) in (tmp_path / "contractions.json").read_text()
    contraction.forget_cache()


def test_the_adapted_model_compiles_with_inductor():
    torch.manual_seed(0)
    model = get_model(TinyResNet(), MetaLoRAConfig(method="meta-tr", rank=2)).to(CUDA)
    randomise_adapters(model)
    x = torch.rand(4, 3, 8, 8, device=CUDA)
    expected = model.train()(x)
    compiled = torch.compile(model)
    torch.testing.assert_close(compiled(x), expected, rtol=1e-4, atol=1e-5)


class Wide(nn.Module):
    """A classifier whose activations grow with the batch: 512 channels at 64× the input's resolution."""

    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.up = nn.Upsample(scale_factor=64)
        self.conv = nn.Conv2d(channels, 512, 3, padding=1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(self.up(x))).mean(dim=(2, 3)))


def test_a_real_out_of_memory_ends_the_job_with_advice_and_the_next_job_runs(tmp_path, monkeypatch):
    """A batch of 256 images upsampled to 1024² with 512 channels needs far more than the GPU has."""
    monkeypatch.setenv("METALORA_HOME", str(tmp_path))
    from app.jobs import DONE, FAILED, TrainingJob
    from app.session_runs import TrainTask

    spec = DataSpec("digits", ("clean", "inverted"), image_size=16, samples_per_class=30)
    splits = spec.load()
    channels, classes = splits.train.channels, splits.train.num_classes

    def net():
        torch.manual_seed(0)
        return Wide(channels, classes)

    big = TrainTask("meta-cp", rank=2, train=TrainConfig(epochs=1, batch_size=256, device="cuda"))
    job = TrainingJob([big], net, splits, "wide-net", "digits").start()
    assert job.join(300)
    assert job.status == FAILED and not job.error_unexpected, job.error
    message = str(TrainingError(job.error))
    assert "Out of memory on cuda" in message and "smaller batch size" in message
    small = TrainTask("meta-cp", rank=2, train=TrainConfig(epochs=1, batch_size=2, device="cuda"))
    again = TrainingJob([small], net, splits, "wide-net", "digits").start()
    assert again.join(300) and again.status == DONE, again.error
    assert [r["status"] for r in RunRegistry(tmp_path).list(newest_first=False)] == ["failed", "completed"]
