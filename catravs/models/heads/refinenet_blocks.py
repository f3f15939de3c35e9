"""RefineNet-style residual convolution unit and fusion step (the AVSBench decoder's)."""
from __future__ import annotations

from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class ResidualConvUnit(nn.Module):
    """``Tensor[N, C, h, w] -> Tensor[N, C, h, w]``: ``r + conv2(relu(conv1(r)))`` with
    ``r = relu(x)``.

    The residual is ``relu(x)``, not ``x``: the released unit applies an in-place ReLU to its
    input before the convolutions, so the identity branch sees the rectified tensor.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        r = F.relu(x)
        return r + self.conv2(F.relu(self.conv1(r)))


class RefineStep(nn.Module):
    """One decoder step: ``x[N, C, h, w]`` (+ ``skip[N, C, h, w]``) -> ``[N, C, 2h, 2w]``.

    ``out_unit(x + skip_unit(skip))``, then bilinear x2 with ``align_corners=True``. The
    coarsest step has no skip input and no ``skip_unit`` (``with_skip=False``).
    """

    def __init__(self, channels: int, with_skip: bool = True) -> None:
        super().__init__()
        self.skip_unit = ResidualConvUnit(channels) if with_skip else None
        self.out_unit = ResidualConvUnit(channels)

    def forward(self, x: Tensor, skip: Optional[Tensor] = None) -> Tensor:
        if skip is not None:
            if self.skip_unit is None:
                raise ValueError('RefineStep built with with_skip=False got a skip input')
            x = x + self.skip_unit(skip)
        x = self.out_unit(x)
        return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True)
