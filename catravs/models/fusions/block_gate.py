"""Block-wise gate: combine the outputs of consecutive temporal blocks."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor


def conv_bn_prelu(channels: int) -> nn.Sequential:
    """3x3 conv -> BatchNorm -> PReLU, ``Tensor[N, C, h, w] -> Tensor[N, C, h, w]``."""
    return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(channels), nn.PReLU(channels))


class BlockGate(nn.Module):
    """Gate between the running fused map and the next block's output.

    ``g = mean_{h,w} sigmoid(conv3x3([fused ; block]))`` (one weight per channel),
    ``out = conv_bn_prelu(g * block + (1 - g) * fused)``.

    ``forward(fused[N, C, h, w], block[N, C, h, w], gate=None) -> (out, g[N, C, 1, 1])``;
    passing ``gate`` reuses a previous gate's values instead of computing new ones
    (the released code's behaviour for its second gate).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gate_conv = nn.Conv2d(2 * channels, channels, 3, padding=1)
        self.out = conv_bn_prelu(channels)

    def forward(self, fused: Tensor, block: Tensor,
                gate: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        if gate is None:
            gate = torch.sigmoid(self.gate_conv(torch.cat([fused, block], dim=1)))
            gate = gate.mean(dim=(2, 3), keepdim=True)
        return self.out(gate * block + (1 - gate) * fused), gate
