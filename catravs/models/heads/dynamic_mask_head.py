"""Mask head: pixel decoder + per-query dynamic kernels + class head."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from torch import Tensor

from catravs.models.utils import MLP
from catravs.registry import MODELS

from .base_mask_head import BaseMaskHead
from .fpn_pixel_decoder import FPNPixelDecoder


@MODELS.register_module()
class DynamicMaskHead(BaseMaskHead):
    """Turn decoded queries into mask and class logits (CATR step 8).

    ``forward(queries[L, N, Q, C], fused_video[N, C, h8, w8], feats (4 levels of
    [N, C, h_i, w_i])) -> (mask_logits[L, N, Q, H_m, W_m], class_logits[L, N, Q, K + 1])``
    where ``mask_logits = einsum(kernels[L, N, Q, D], mask_features[N, D, H_m, W_m])``.

    Args:
        channels: C of the queries and feature levels.
        num_classes: K (1 for S4/MS3: "sounding"; AVSS: classes incl. background);
            the class head adds a no-object logit.
        mask_dim: D, channels of the mask features (authors: 64).
        authors_stride16: reproduce the released code's stride-16 mask features.
    """

    def __init__(self, channels: int = 256, num_classes: int = 1, mask_dim: int = 64,
                 authors_stride16: bool = False, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.pixel_decoder = FPNPixelDecoder(channels, mask_dim, authors_stride16)
        self.kernel_mlp = MLP(channels, channels, mask_dim, 3)
        self.class_head = nn.Linear(channels, num_classes + 1)

    def forward(self, queries: Tensor, fused_video: Tensor,
                feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        mask_features = self.pixel_decoder(fused_video, feats)
        kernels = self.kernel_mlp(queries)
        mask_logits = torch.einsum('lnqd,ndhw->lnqhw', kernels, mask_features)
        return mask_logits, self.class_head(queries)
