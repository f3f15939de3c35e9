"""CATR's neck: every level to C channels by a sum of dilated 3x3 convolutions."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch.nn as nn
from torch import Tensor

from catravs.registry import MODELS

from .base_neck import BaseNeck


class DilatedConvSum(nn.Module):
    """Sum of parallel 3x3 convolutions with the given dilations (ASPP-style, no pooling).

    ``Tensor[N, C_in, h, w] -> Tensor[N, C_out, h, w]``.
    """

    def __init__(self, in_channels: int, out_channels: int, dilations: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, 3, padding=d, dilation=d) for d in dilations)

    def forward(self, x: Tensor) -> Tensor:
        out = self.branches[0](x)
        for branch in self.branches[1:]:
            out = out + branch(x)
        return out


@MODELS.register_module()
class ASPPSumNeck(BaseNeck):
    """Project each backbone level to ``out_channels`` (CATR step 3).

    ``forward(feats: Sequence[Tensor[N, C_i, h_i, w_i]]) -> list[Tensor[N, C, h_i, w_i]]``
    (``None`` in place of a level that is not in ``out_levels``).

    Args:
        in_channels: channels of each backbone level.
        out_channels: C.
        dilations: dilations of the summed 3x3 convolutions (authors: 3, 6, 12, 18).
        out_levels: indices of the levels to project (default: all). The
            released code also projects the stride-4 level and never reads it;
            its configs leave that level out (``(1, 2, 3)``).
        weight_std: when given, the conv weights are drawn from N(0, weight_std)
            (the released ``Classifier_Module``: 0.01; biases keep PyTorch's
            default); None keeps PyTorch's default init.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int = 256,
                 dilations: Sequence[int] = (3, 6, 12, 18),
                 out_levels: Optional[Sequence[int]] = None,
                 weight_std: Optional[float] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.out_channels = out_channels
        out_levels = range(len(in_channels)) if out_levels is None else out_levels
        self.out_levels = tuple(out_levels)
        self.levels = nn.ModuleList(
            DilatedConvSum(c, out_channels, dilations) if i in self.out_levels else nn.Identity()
            for i, c in enumerate(in_channels))
        if weight_std is not None:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.normal_(module.weight, 0, weight_std)

    def forward(self, feats: Sequence[Tensor]) -> list[Optional[Tensor]]:
        if len(feats) != len(self.levels):
            raise ValueError(f'ASPPSumNeck expects {len(self.levels)} levels, got {len(feats)}')
        return [proj(f) if i in self.out_levels else None
                for i, (proj, f) in enumerate(zip(self.levels, feats))]
