"""The AVSBench (TPAVI) decoder: RefineNet-style top-down fusion and output convolutions."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch.nn as nn
from torch import Tensor

from catravs.registry import MODELS

from .base_dense_head import BaseDenseHead
from .refinenet_blocks import RefineStep


@MODELS.register_module()
class RefineNetHead(BaseDenseHead):
    """Four levels of C channels -> per-pixel logits at 4x the finest level's size.

    ``forward(feats=[f0[N, C, h, w], f1[N, C, h/2, w/2], f2[..h/4..], f3[..h/8..]],
    frame_scale: Tensor[N] | None) -> Tensor[N, K, 4h, 4w]``:
    ``d3 = step3(f3)``, ``d2 = step2(d3, f2)``, ``d1 = step1(d2, f1)``, ``d0 = step0(d1, f0)``
    (each :class:`RefineStep` doubles the size; the coarsest has no skip input), then
    ``conv3x3(C -> mid) -> bilinear x2 (align_corners=False) -> conv3x3(mid -> low) -> ReLU
    -> conv1x1(low -> K)``. ``frame_scale`` multiplies every ``d_i`` and the logits (the
    released AVSS model zeroes padded frames there).

    Every step starts by rectifying its inputs (:class:`ResidualConvUnit`), so a caller may
    pass ``relu(f_i)`` instead of ``f_i`` and get the same result.

    Args:
        num_classes: K.
        channels: C (released: 256).
        mid_channels, low_channels: widths of the output convolutions (released: 128, 32).
    """

    def __init__(self, num_classes: int = 1, channels: int = 256, mid_channels: int = 128,
                 low_channels: int = 32, num_levels: int = 4, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.steps = nn.ModuleList(RefineStep(channels, with_skip=i < num_levels - 1)
                                   for i in range(num_levels))
        self.output_conv = nn.Sequential(
            nn.Conv2d(channels, mid_channels, 3, padding=1),
            nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),
            nn.Conv2d(mid_channels, low_channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(low_channels, num_classes, 1))

    def forward(self, feats: Sequence[Tensor],
                frame_scale: Optional[Tensor] = None) -> Tensor:
        if len(feats) != len(self.steps):
            raise ValueError(f'RefineNetHead expects {len(self.steps)} levels, got {len(feats)}')
        scale = None if frame_scale is None else frame_scale.reshape(-1, 1, 1, 1)
        x = None
        for i in reversed(range(len(feats))):
            x = self.steps[i](feats[i]) if x is None else self.steps[i](x, feats[i])
            if scale is not None:
                x = x * scale.to(x.dtype)
        logits = self.output_conv(x)
        if scale is not None:
            logits = logits * scale.to(logits.dtype)
        return logits
