"""Block-wise gate: combine the outputs of consecutive temporal blocks."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor


def conv_bn_prelu(channels: int, conv_bias: bool = False,
                  prelu_per_channel: bool = True) -> nn.Sequential:
    """3x3 conv -> BatchNorm -> PReLU, ``Tensor[N, C, h, w] -> Tensor[N, C, h, w]``.

    The released code's blocks have a conv bias and one PReLU slope for all channels.
    """
    return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=conv_bias),
                         nn.BatchNorm2d(channels),
                         nn.PReLU(channels if prelu_per_channel else 1))


class BlockGate(nn.Module):
    """Gate between the running fused map and the next block's output.

    ``g = mean_{h,w} sigmoid(conv3x3([fused ; block]))`` (one weight per channel),
    ``out = conv_bn_prelu(g * block + (1 - g) * fused)``.

    ``forward(fused[N, C, h, w], block[N, C, h, w]) -> Tensor[N, C, h, w]``.
    The released code's gate is :class:`ReleasedBlockGate`.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gate_conv = nn.Conv2d(2 * channels, channels, 3, padding=1)
        self.out = conv_bn_prelu(channels)

    def forward(self, fused: Tensor, block: Tensor) -> Tensor:
        gate = torch.sigmoid(self.gate_conv(torch.cat([fused, block], dim=1)))
        gate = gate.mean(dim=(2, 3), keepdim=True)
        return self.out(gate * block + (1 - gate) * fused)
