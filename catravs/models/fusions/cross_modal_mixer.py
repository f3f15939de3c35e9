"""AVSegFormer's CrossModalMixer: an audio-driven channel gate on the mask feature."""
from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from catravs.models.utils.cpu_lean import residual_dropout
from catravs.registry import MODELS

from .base_fusion import BaseFeatureMapFusion

__all__ = ['CrossModalMixer']


@MODELS.register_module()
class CrossModalMixer(BaseFeatureMapFusion):
    """The audio token attends to the pixels of its frame; the result, through a linear
    layer and a sigmoid, scales each channel of the map.

    ``forward(feature_map[N, C, h, w], audio[N, 1, C] or [N, C]) -> Tensor[N, C, h, w]``
    (N = B*T frames, any N >= 1; the released code's ``squeeze()`` fails at N = 1).

    Args:
        dim: C; num_heads: attention heads; qkv_bias: biases of the query and key/value
            projections (released: False); dropout: after the output projection.
    """

    def __init__(self, dim: int = 256, num_heads: int = 8, qkv_bias: bool = False,
                 dropout: float = 0.0, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_heads, self.dropout = num_heads, dropout
        self.q_proj = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv_proj = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        for p in self.parameters():  # the released head's Xavier init
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, feature_map: Tensor, audio: Tensor) -> Tensor:
        n, c = feature_map.shape[:2]
        if audio.dim() == 2:
            audio = audio[:, None]
        heads = self.num_heads
        tokens = feature_map.flatten(2).transpose(1, 2)  # [N, hw, C]
        q = self.q_proj(audio).unflatten(-1, (heads, c // heads)).transpose(1, 2)  # [N, M, 1, d]
        k, v = self.kv_proj(tokens).unflatten(-1, (2, heads, c // heads)).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v)  # [N, M, 1, d]
        x = x.transpose(1, 2).reshape(n, c)
        gate = residual_dropout(self.proj(x), self.dropout, self.training).sigmoid()  # [N, C]
        return feature_map * gate[:, :, None, None]
