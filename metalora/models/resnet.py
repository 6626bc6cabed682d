"""A small CIFAR-style ResNet built only from ordinary layers.

Why ordinary layers: MetaLoRA adapters wrap ``nn.Conv2d`` and ``nn.Linear`` modules that they find
by walking the model, so the backbone uses nothing else that holds weights (plus ``nn.BatchNorm2d``)
and no fused or custom kernels. The classifier is the *last registered* ``nn.Linear``, named
``fc``, and takes the pooled penultimate features ``(B, C)``; an adaptive average pool makes the
network independent of the image size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .normalize import Normalize, check_input


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=False)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, Cin, H, W) -> (B, Cout, H/s, W/s)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR-style ResNet: 3x3 stem, one stage per entry of ``widths``, global pool, ``fc``.

    Parameters
    ----------
    in_channels
        Channels of the input images (1 for grey, 3 for colour).
    num_classes
        Number of output logits.
    widths
        Channels of each stage; every stage after the first halves the resolution.
    blocks_per_stage
        Number of :class:`BasicBlock` per stage (an int for all stages, or one per stage).
    mean, std
        Input normalisation applied by the leading :class:`Normalize` module.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        widths: Sequence[int] = (16, 32, 64),
        blocks_per_stage: int | Sequence[int] = 1,
        mean: float | Sequence[float] = 0.5,
        std: float | Sequence[float] = 0.5,
    ):
        super().__init__()
        widths = [int(w) for w in widths]
        blocks = (
            [int(blocks_per_stage)] * len(widths)
            if isinstance(blocks_per_stage, int)
            else [int(b) for b in blocks_per_stage]
        )
        _validate(in_channels, num_classes, widths, blocks)
        self.in_channels = int(in_channels)
        self.num_classes = int(num_classes)

        self.normalize = Normalize(in_channels, mean, std)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=False),
        )
        stages: list[nn.Module] = []
        prev = widths[0]
        for i, (width, n) in enumerate(zip(widths, blocks, strict=True)):
            layers = [
                BasicBlock(prev if j == 0 else width, width, 2 if (i > 0 and j == 0) else 1) for j in range(n)
            ]
            stages.append(nn.Sequential(*layers))
            prev = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(prev, num_classes)  # the head: last registered nn.Linear
        self.feature_dim = prev
        self._init_weights()

    def _init_weights(self) -> None:
        """Kaiming init for convolutions; zero the last BN of each block (a stable start)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, F)
        """Pooled penultimate features: the input of ``fc``."""
        check_input(x, self.in_channels, "ResNet")
        h = self.stem(self.normalize(x))  # (B, w0, H, W)
        h = self.stages(h)  # (B, F, H', W')
        return torch.flatten(self.pool(h), 1)  # (B, F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, num_classes)
        return self.fc(self.forward_features(x))


def _validate(in_channels: int, num_classes: int, widths: list[int], blocks: list[int]) -> None:
    """Raise :class:`ConfigError` naming the first bad constructor argument."""
    if int(in_channels) < 1:
        raise ConfigError(
            f"in_channels={in_channels} must be >= 1.", "Use 1 for grey or 3 for colour images."
        )
    if int(num_classes) < 2:
        raise ConfigError(
            f"num_classes={num_classes} must be >= 2.", "Give the number of classes of your data."
        )
    if not widths or any(w < 1 for w in widths):
        raise ConfigError(f"widths={widths} must be a non-empty list of positive ints.", "E.g. (16, 32, 64).")
    if len(blocks) != len(widths) or any(b < 1 for b in blocks):
        raise ConfigError(
            f"blocks_per_stage={blocks} must be a positive int or one positive int per stage "
            f"({len(widths)} stages).",
            "E.g. blocks_per_stage=1.",
        )
