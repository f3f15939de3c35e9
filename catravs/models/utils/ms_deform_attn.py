"""Multi-scale deformable attention (Deformable DETR) in plain PyTorch: ``grid_sample``.

The sampling is that of the reference implementation that the released AVSegFormer code
falls back to on the CPU (``ms_deform_attn_core_pytorch``): bilinear, zero padding,
``align_corners=False``; it runs unchanged on CPU and CUDA and needs no compiled op.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = ['MSDeformAttn', 'ms_deform_attn']


def ms_deform_attn(value: Tensor, spatial_shapes: Sequence[tuple[int, int]],
                   sampling_locations: Tensor, attention_weights: Tensor) -> Tensor:
    """Weighted sum of bilinearly sampled values.

    Args:
        value: ``Tensor[N, S, M, D]``: the tokens of all levels (S = sum of h_l * w_l,
            level after level, row-major), M heads of D channels.
        spatial_shapes: ``(h_l, w_l)`` of each of the L levels (Python ints).
        sampling_locations: ``Tensor[N, Lq, M, L, P, 2]``, (x, y) in [0, 1] (0 and 1 are
            the outer edges of the map; outside reads zeros).
        attention_weights: ``Tensor[N, Lq, M, L, P]``.

    Returns:
        ``Tensor[N, Lq, M * D]``.
    """
    n, _, heads, dim = value.shape
    _, lq, _, levels, points, _ = sampling_locations.shape
    values = value.split([h * w for h, w in spatial_shapes], dim=1)
    grids = 2 * sampling_locations - 1
    sampled = []
    for level, (h, w) in enumerate(spatial_shapes):
        v = values[level].flatten(2).transpose(1, 2).reshape(n * heads, dim, h, w)
        grid = grids[:, :, :, level].transpose(1, 2).flatten(0, 1)  # [N*M, Lq, P, 2]
        sampled.append(F.grid_sample(v, grid, mode='bilinear', padding_mode='zeros',
                                     align_corners=False))  # [N*M, D, Lq, P]
    weights = attention_weights.transpose(1, 2).reshape(n * heads, 1, lq, levels * points)
    out = (torch.stack(sampled, dim=-2).flatten(-2) * weights).sum(-1)  # [N*M, D, Lq]
    return out.view(n, heads * dim, lq).transpose(1, 2)


class MSDeformAttn(nn.Module):
    """Multi-scale deformable attention with Deformable DETR's parameters and init.

    ``forward(query[N, Lq, C], reference_points[N, Lq, L, 2], value[N, S, C],
    spatial_shapes: list[(h_l, w_l)], padding_mask: BoolTensor[N, S] | None)
    -> Tensor[N, Lq, C]``; reference points as (x, y) in [0, 1]. Each of the M heads
    samples P points on each of the L levels around the reference point, at offsets
    (in pixels of that level) and with softmax weights predicted from the query.
    """

    def __init__(self, embed_dims: int = 256, num_levels: int = 4, num_heads: int = 8,
                 num_points: int = 4) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible by num_heads '
                             f'({num_heads})')
        self.embed_dims, self.num_levels = embed_dims, num_levels
        self.num_heads, self.num_points = num_heads, num_points
        self.sampling_offsets = nn.Linear(embed_dims, num_heads * num_levels * num_points * 2)
        self.attention_weights = nn.Linear(embed_dims, num_heads * num_levels * num_points)
        self.value_proj = nn.Linear(embed_dims, embed_dims)
        self.output_proj = nn.Linear(embed_dims, embed_dims)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Deformable DETR's init: offsets start on a ring of 8 directions, point i at
        distance i + 1; uniform attention weights; Xavier projections."""
        nn.init.zeros_(self.sampling_offsets.weight)
        thetas = torch.arange(self.num_heads, dtype=torch.float32) * (2.0 * math.pi
                                                                      / self.num_heads)
        grid = torch.stack([thetas.cos(), thetas.sin()], -1)
        grid = (grid / grid.abs().max(-1, keepdim=True)[0]).view(self.num_heads, 1, 1, 2)
        grid = grid.repeat(1, self.num_levels, self.num_points, 1)
        grid = grid * torch.arange(1, self.num_points + 1, dtype=torch.float32).view(1, 1, -1, 1)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.flatten())
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        for proj in (self.value_proj, self.output_proj):
            nn.init.xavier_uniform_(proj.weight)
            nn.init.zeros_(proj.bias)

    def forward(self, query: Tensor, reference_points: Tensor, value: Tensor,
                spatial_shapes: Sequence[tuple[int, int]],
                padding_mask: Tensor | None = None) -> Tensor:
        n, lq, _ = query.shape
        heads, levels, points = self.num_heads, self.num_levels, self.num_points
        value = self.value_proj(value)
        if padding_mask is not None:
            value = value.masked_fill(padding_mask[..., None], 0.0)
        value = value.unflatten(-1, (heads, self.embed_dims // heads))
        offsets = self.sampling_offsets(query).view(n, lq, heads, levels, points, 2)
        weights = self.attention_weights(query).view(n, lq, heads, levels * points)
        weights = weights.softmax(-1).view(n, lq, heads, levels, points)
        # offsets are in pixels of each level: normalise by (w_l, h_l)
        normalizer = query.new_tensor([[w, h] for h, w in spatial_shapes])
        locations = (reference_points[:, :, None, :, None, :]
                     + offsets / normalizer[None, None, None, :, None, :])
        return self.output_proj(ms_deform_attn(value, spatial_shapes, locations, weights))
