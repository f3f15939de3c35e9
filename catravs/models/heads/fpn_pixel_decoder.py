"""FPN-style pixel decoder down to stride 4 (catravs' revision)."""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from catravs.registry import MODELS

from .base_pixel_decoder import BasePixelDecoder


def conv_gn_relu(in_channels: int, out_channels: int, kernel_size: int = 3,
                 bias: bool = False) -> nn.Sequential:
    groups = 8 if out_channels % 8 == 0 else 1
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias),
        nn.GroupNorm(groups, out_channels), nn.ReLU(inplace=True))


@MODELS.register_module()
class FPNPixelDecoder(BasePixelDecoder):
    """Top-down path from stride 32 to stride 4, with the fused video at stride 8.

    ``forward(fused_video[N, C, h8, w8], feats=[s4, s8, s16, s32] each [N, C, h_i, w_i])
    -> Tensor[N, mask_dim, h4, w4]``: C channels all the way, so thin objects keep
    their pixels. The released code's decoder is :class:`ReleasedFPNDecoder`.
    """

    def __init__(self, channels: int = 256, mask_dim: int = 64, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
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
        y = self.smooth['s8'](self._merge(y, fused_video))
        y = self.smooth['s4'](self._merge(y, self.lateral['s4'](s4)))
        return self.mask_proj(y)
