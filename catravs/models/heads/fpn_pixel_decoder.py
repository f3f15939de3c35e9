"""FPN-style spatial decoder that turns fused video and skip levels into mask features."""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def conv_gn_relu(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    groups = 8 if out_channels % 8 == 0 else 1
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.GroupNorm(groups, out_channels), nn.ReLU(inplace=True))


class FPNPixelDecoder(nn.Module):
    """Top-down path from stride 32 to stride 4 (or 16), with the fused video at stride 8.

    ``forward(fused_video[N, C, h8, w8], feats=[s4, s8, s16, s32] each [N, C, h_i, w_i])
    -> Tensor[N, mask_dim, h_out, w_out]`` where the output is at stride 4, or at
    stride 16 with ``authors_stride16=True`` (the released code hands the levels in
    reversed order, so its mask features stay at stride 16).
    """

    def __init__(self, channels: int, mask_dim: int = 64, authors_stride16: bool = False) -> None:
        super().__init__()
        self.authors_stride16 = authors_stride16
        self.lateral = nn.ModuleDict({
            's4': conv_gn_relu(channels, channels, 1), 's16': conv_gn_relu(channels, channels, 1),
            's32': conv_gn_relu(channels, channels, 1)})
        self.smooth = nn.ModuleDict({
            's4': conv_gn_relu(channels, channels), 's8': conv_gn_relu(channels, channels),
            's16': conv_gn_relu(channels, channels)})
        self.mask_proj = nn.Conv2d(channels, mask_dim, 3, padding=1)

    @staticmethod
    def _merge(top: Tensor, skip: Tensor) -> Tensor:
        return skip + F.interpolate(top, size=skip.shape[-2:], mode='nearest')

    def forward(self, fused_video: Tensor, feats: Sequence[Tensor]) -> Tensor:
        s4, _, s16, s32 = feats
        y = self.smooth['s16'](self._merge(self.lateral['s32'](s32), self.lateral['s16'](s16)))
        if self.authors_stride16:
            y = self.smooth['s8'](self._merge(F.interpolate(fused_video, size=y.shape[-2:],
                                                            mode='bilinear',
                                                            align_corners=False), y))
            return self.mask_proj(y)
        y = self.smooth['s8'](self._merge(y, fused_video))
        y = self.smooth['s4'](self._merge(y, self.lateral['s4'](s4)))
        return self.mask_proj(y)
