"""The released CATR code's pixel decoder (MTTR's ``FPNSpatialDecoder``)."""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from catravs.registry import MODELS

from .base_pixel_decoder import BasePixelDecoder
from .fpn_pixel_decoder import conv_gn_relu


@MODELS.register_module()
class ReleasedFPNDecoder(BasePixelDecoder):
    """Narrowing pyramid that goes down to stride 32 and back up to stride 16.

    The released code hands the neck's levels in reversed order, so the fused
    video (stride 8) is resized onto the stride-32 level, then onto the stride-16
    level, and the mask features stay at stride 16 (14 x 14 for 224 input):

    ``x = cgr(C -> C -> C/2)(fused)``; ``x = cgr(C/2 -> C/4)(adapt_32(s32) + up(x))``;
    ``x = cgr(C/4 -> C/8)(adapt_16(s16) + up(x))``; ``out = conv3x3(C/8 -> mask_dim)(x)``
    where cgr is conv3x3 (with bias) -> GroupNorm(8) -> ReLU, adapt a 1x1 conv and
    up a nearest resize. The stride-4 and stride-8 neck levels are not read.

    ``forward(fused_video[N, C, h8, w8], feats=[s4, s8, s16, s32] each [N, C, h_i, w_i])
    -> Tensor[N, mask_dim, h16, w16]``. Convolutions start as released: Kaiming-uniform
    (a = 1) weights and zero biases.
    """

    def __init__(self, channels: int = 256, mask_dim: int = 64, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        dims = [channels, channels, channels // 2, channels // 4, channels // 8]
        self.convs = nn.ModuleList(conv_gn_relu(a, b, bias=True) for a, b in zip(dims, dims[1:]))
        self.adapters = nn.ModuleList(nn.Conv2d(channels, d, 1) for d in dims[2:4])
        self.mask_proj = nn.Conv2d(dims[-1], mask_dim, 3, padding=1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_uniform_(module.weight, a=1)
                nn.init.zeros_(module.bias)

    def forward(self, fused_video: Tensor, feats: Sequence[Tensor]) -> Tensor:
        x = self.convs[1](self.convs[0](fused_video))
        for conv, adapter, level in zip(self.convs[2:], self.adapters, (feats[3], feats[2])):
            skip = adapter(level)
            x = conv(skip + F.interpolate(x, size=skip.shape[-2:], mode='nearest'))
        return self.mask_proj(x)
