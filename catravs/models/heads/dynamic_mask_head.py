"""Mask head: pixel decoder + per-query dynamic kernels + class head."""
from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from catravs.models.builder import build_model_part
from catravs.models.utils import MLP
from catravs.registry import MODELS

from .base_mask_head import BasePerQueryMaskHead


@MODELS.register_module()
class DynamicMaskHead(BasePerQueryMaskHead):
    """Turn decoded queries into mask and class logits (CATR step 8).

    ``forward(queries[L, N, Q, C], fused_video[N, C, h8, w8], feats (4 levels of
    [N, C, h_i, w_i])) -> (mask_logits[L, N, Q, H_m, W_m], class_logits[L, N, Q, K + 1])``
    where ``mask_logits = einsum(kernels[L, N, Q, D], mask_features[N, D, H_m, W_m])``,
    the kernels from an MLP on the queries and the mask features from the pixel decoder.

    Args:
        channels: C of the queries and feature levels.
        num_classes: K (1 for S4/MS3: "sounding"; AVSS: classes incl. background);
            the class head adds a no-object logit.
        mask_dim: D, channels of the mask features (authors: 64).
        pixel_decoder: config of a ``pixel_decoder`` part (its ``channels`` and
            ``mask_dim`` default to the head's): ``FPNPixelDecoder`` (stride 4) or
            ``ReleasedFPNDecoder`` (the released code's, stride 16).
        kernel_layers: layers of the kernel MLP (released: 2).
    """

    def __init__(self, channels: int = 256, num_classes: int = 1, mask_dim: int = 64,
                 pixel_decoder: Optional[dict] = None, kernel_layers: int = 3,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        pixel_decoder = copy.deepcopy(pixel_decoder or dict(type='FPNPixelDecoder'))
        pixel_decoder.setdefault('channels', channels)
        pixel_decoder.setdefault('mask_dim', mask_dim)
        self.pixel_decoder = build_model_part(pixel_decoder, 'pixel_decoder',
                                              'model.head.pixel_decoder')
        self.kernel_mlp = MLP(channels, channels, mask_dim, kernel_layers)
        self.class_head = nn.Linear(channels, num_classes + 1)

    def forward(self, queries: Tensor, fused_video: Tensor,
                feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        mask_features = self.pixel_decoder(fused_video, feats)
        kernels = self.kernel_mlp(queries)
        mask_logits = torch.einsum('lnqd,ndhw->lnqhw', kernels, mask_features)
        return mask_logits, self.class_head(queries)
