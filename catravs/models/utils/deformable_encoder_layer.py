"""Deformable DETR encoder layer: multi-scale deformable self-attention + FFN, post-norm."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch.nn as nn
from torch import Tensor

from .cpu_lean import residual_dropout
from .ms_deform_attn import MSDeformAttn
from .transformer_layers import FFN, Activation

__all__ = ['DeformableEncoderLayer']


class DeformableEncoderLayer(nn.Module):
    """Tokens of all levels attend (deformably) to all levels, then an FFN.

    ``forward(x[N, S, C], pos[N, S, C], reference_points[N, S, L, 2],
    spatial_shapes: list[(h_l, w_l)], padding_mask[N, S] | None) -> Tensor[N, S, C]``:
    ``x = norm(x + dropout(attn(x + pos, reference_points, x)))``, then the FFN.
    """

    def __init__(self, d_model: int = 256, dim_feedforward: int = 2048, dropout: float = 0.1,
                 num_levels: int = 3, num_heads: int = 8, num_points: int = 4,
                 activation: Activation = 'gelu') -> None:
        super().__init__()
        self.self_attn = MSDeformAttn(d_model, num_levels, num_heads, num_points)
        self.dropout = dropout
        self.norm = nn.LayerNorm(d_model)
        self.ffn = FFN(d_model, dim_feedforward, dropout, activation=activation)

    def forward(self, x: Tensor, pos: Tensor, reference_points: Tensor,
                spatial_shapes: Sequence[tuple[int, int]],
                padding_mask: Optional[Tensor] = None) -> Tensor:
        out = self.self_attn(x + pos, reference_points, x, spatial_shapes, padding_mask)
        x = self.norm(x + residual_dropout(out, self.dropout, self.training))
        return self.ffn(x)
