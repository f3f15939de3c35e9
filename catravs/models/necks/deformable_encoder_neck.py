"""AVSegFormer's neck: a deformable transformer encoder over three levels, plus a stride-4 map."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from catravs.models.utils import DeformableEncoderLayer, MSDeformAttn, sine_position_embedding
from catravs.registry import MODELS

from .base_neck import BaseNeck

__all__ = ['DeformableEncoderNeck', 'reference_points']


def reference_points(spatial_shapes: Sequence[tuple[int, int]], n: int,
                     device: torch.device) -> Tensor:
    """Pixel centres of every level, normalised to [0, 1]: ``Tensor[n, S, L, 2]`` (x, y),
    the same point for every level (no padding, so the valid ratios are 1)."""
    points = []
    for h, w in spatial_shapes:
        y, x = torch.meshgrid(torch.linspace(0.5, h - 0.5, h, device=device) / h,
                              torch.linspace(0.5, w - 0.5, w, device=device) / w, indexing='ij')
        points.append(torch.stack((x.flatten(), y.flatten()), -1))
    points = torch.cat(points, 0)  # [S, 2]
    return points[None, :, None].expand(n, -1, len(spatial_shapes), -1)


@MODELS.register_module()
class DeformableEncoderNeck(BaseNeck):
    """Backbone levels -> C-channel maps, as AVSegFormer's head builds its memory and mask
    feature.

    Each level goes through a 1x1 conv and GroupNorm(32) (``in_proj``); the levels in
    ``encoder_levels`` (strides 8, 16, 32), flattened with their un-normalised sine
    positions plus a learned level embedding, pass ``num_layers``
    :class:`DeformableEncoderLayer`; the first level (stride 4) is added, through
    ``lateral_conv``, to the bilinearly upsampled first encoded level and refined by
    ``out_conv`` (3x3 conv, GroupNorm, ReLU).

    ``forward(feats=[Tensor[N, C_i, h_i, w_i]] * 4) -> [pixel[N, C, h_0, w_0],
    memory_l[N, C, h_l, w_l] for l in encoder_levels]``: the encoded levels are the
    encoder's memory (``Tensor[N, S, C]``) reshaped to maps; flatten and concatenate
    them for a decoder.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int = 256,
                 encoder_levels: Sequence[int] = (1, 2, 3), num_layers: int = 6,
                 num_heads: int = 8, num_points: int = 4, dim_feedforward: int = 2048,
                 dropout: float = 0.1, num_groups: int = 32,
                 pos_temperature: float = 10000.0, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        c = out_channels
        self.out_channels, self.encoder_levels = c, tuple(encoder_levels)
        self.pos_temperature = pos_temperature
        self.in_proj = nn.ModuleList(
            nn.Sequential(nn.Conv2d(ch, c, 1), nn.GroupNorm(num_groups, c)) for ch in in_channels)
        self.level_embed = nn.Parameter(torch.empty(len(self.encoder_levels), c))
        self.layers = nn.ModuleList(
            DeformableEncoderLayer(c, dim_feedforward, dropout, len(self.encoder_levels),
                                   num_heads, num_points) for _ in range(num_layers))
        self.lateral_conv = nn.Sequential(nn.Conv2d(c, c, 1), nn.GroupNorm(num_groups, c))
        self.out_conv = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.GroupNorm(num_groups, c),
                                      nn.ReLU(inplace=True))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """As the released head: Xavier on every matrix, Deformable DETR's init of the
        deformable attentions, N(0, 1) level embeddings."""
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        for m in self.modules():
            if isinstance(m, MSDeformAttn):
                m.reset_parameters()
        nn.init.normal_(self.level_embed)

    def forward(self, feats: Sequence[Tensor]) -> list[Tensor]:
        n = feats[0].shape[0]
        srcs = [self.in_proj[i](feats[i]) for i in self.encoder_levels]
        shapes = [(int(s.shape[-2]), int(s.shape[-1])) for s in srcs]
        tokens, pos = [], []
        for level, src in enumerate(srcs):
            h, w = src.shape[-2:]
            not_mask = src.new_ones((n, h, w), dtype=torch.bool)
            embed = sine_position_embedding(not_mask, src.shape[1] // 2, self.pos_temperature,
                                            normalize=False).to(src.dtype)
            tokens.append(src.flatten(2).transpose(1, 2))
            pos.append(embed.flatten(2).transpose(1, 2) + self.level_embed[level])
        x, pos = torch.cat(tokens, 1), torch.cat(pos, 1)
        points = reference_points(shapes, n, x.device).to(x.dtype)
        for layer in self.layers:
            x = layer(x, pos, points, shapes)
        memory = [m.transpose(1, 2).unflatten(-1, hw)
                  for m, hw in zip(x.split([h * w for h, w in shapes], 1), shapes)]
        lateral = self.lateral_conv(self.in_proj[0](feats[0]))
        pixel = lateral + F.interpolate(memory[0], size=lateral.shape[-2:], mode='bilinear',
                                        align_corners=False)
        return [self.out_conv(pixel)] + memory
