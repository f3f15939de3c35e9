"""AVSegFormer's mask head: query-pixel products mixed over the queries, then a conv stack."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from catravs.registry import MODELS

from .base_mask_head import BaseQueryMixingHead

__all__ = ['QueryMixingMaskHead']


@MODELS.register_module()
class QueryMixingMaskHead(BaseQueryMixingHead):
    """Mask logits from the last decoder queries and the (fused) mask feature.

    ``e = einsum('nqc,nchw->nqhw', queries, mask_feature)``; the Q query maps pass 1x1
    convs Q -> hidden -> hidden -> C (ReLU between: the queries are channels, so their
    order matters); ``fc(mask_feature + that)``: 3x3 conv C -> F1, x``scale_factor``
    bilinear upsampling, 3x3 conv F1 -> F2, ReLU, 1x1 conv F2 -> K (no bias), with
    ``(F1, F2) = fc_channels`` (released: 128, 32).

    ``forward(queries[N, Q, C], mask_feature[N, C, h, w]) -> Tensor[N, K, s*h, s*w]``.
    """

    def __init__(self, num_classes: int = 1, num_queries: int = 300, channels: int = 256,
                 hidden_dim: int = 2048, num_mlp_layers: int = 3, scale_factor: int = 4,
                 fc_channels: tuple[int, int] = (128, 32), init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        dims = [num_queries] + [hidden_dim] * (num_mlp_layers - 1) + [channels]
        self.mlp = nn.Module()
        self.mlp.layers = nn.ModuleList(nn.Conv2d(a, b, 1) for a, b in zip(dims[:-1], dims[1:]))
        f1, f2 = fc_channels
        self.fc = nn.Sequential(
            nn.Conv2d(channels, f1, 3, padding=1),
            nn.Upsample(scale_factor=scale_factor, mode='bilinear', align_corners=False),
            nn.Conv2d(f1, f2, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(f2, num_classes, 1, bias=False))
        for p in self.parameters():  # the released head's Xavier init
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, queries: Tensor, mask_feature: Tensor) -> Tensor:
        x = torch.einsum('nqc,nchw->nqhw', queries, mask_feature)
        for i, layer in enumerate(self.mlp.layers):
            x = layer(x)
            if i < len(self.mlp.layers) - 1:
                x = x.relu()
        return self.fc(mask_feature + x)
