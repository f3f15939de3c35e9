"""Block-wise gate of the released CATR code."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .block_gate import conv_bn_prelu


class ReleasedBlockGate(nn.Module):
    """Merge the three temporal-block outputs B1, B2, B3 as the released code does.

    ``g = mean_{h,w} sigmoid(conv3x3([B1 ; B2]))`` has two channels (one shared
    ``Conv2d(2C, 2, 3)``); ``D1 = out1(g[:, 0] * B2)`` with a scalar gate per frame;
    ``g2 = mean_c sigmoid(g)`` (the released code computes a second conv on
    ``[B2 ; B3]`` and throws it away); ``out = out2(D1 + g2 * B3)``. B1 only
    feeds the gate.

    ``forward(b1, b2, b3: Tensor[N, C, h, w]) -> Tensor[N, C, h, w]``.
    """

    def __init__(self, channels: int = 256) -> None:
        super().__init__()
        self.gate_conv = nn.Conv2d(2 * channels, 2, 3, padding=1)
        self.out1 = conv_bn_prelu(channels, conv_bias=True, prelu_per_channel=False)
        self.out2 = conv_bn_prelu(channels, conv_bias=True, prelu_per_channel=False)

    def forward(self, b1: Tensor, b2: Tensor, b3: Tensor) -> Tensor:
        gate = F.adaptive_avg_pool2d(torch.sigmoid(self.gate_conv(torch.cat([b1, b2], 1))), 1)
        # split, not gate[:, :1]: a slice's backward (zeros, then a scatter) was scheduled
        # out of order by inductor's C++ backend (torch 2.11) in the compiled CATR step
        g0, g1 = gate.split(1, dim=1)  # [N, 1, 1, 1] each
        d1 = self.out1(g0 * b2)
        gate2 = (torch.sigmoid(g0) + torch.sigmoid(g1)) / 2  # the mean over the 2 channels
        return self.out2(d1 + gate2 * b3)
