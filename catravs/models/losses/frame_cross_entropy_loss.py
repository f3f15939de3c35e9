"""Per-frame cross-entropy, averaged over the frames with a weight."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from catravs.registry import MODELS
from catravs.structures import IGNORE_INDEX

from .base_loss import BaseLoss


@MODELS.register_module()
class FrameCrossEntropyLoss(BaseLoss):
    """``forward(logits[N, K, H, W], labels[N, H, W], weights[N]) -> Tensor[]``.

    Cross-entropy over the K classes at each pixel, averaged over each frame's labelled
    pixels (``IGNORE_INDEX`` excluded), then ``sum_n w_n l_n / sum_n w_n`` over the frames
    (the AVSBench-semantic loss: ``w`` = the frame is annotated).

    Args:
        loss_weight: weight of the term.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, labels: Tensor, weights: Tensor) -> Tensor:
        per_pixel = F.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX, reduction='none')
        valid = (labels != IGNORE_INDEX).to(per_pixel.dtype)
        per_frame = per_pixel.sum((-2, -1)) / valid.sum((-2, -1)).clamp(min=1)
        weights = weights.to(per_frame.dtype)
        return self.loss_weight * (per_frame * weights).sum() / weights.sum().clamp(min=1e-12)
