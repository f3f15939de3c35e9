"""Binary cross-entropy on mask logits."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from catravs.registry import MODELS

from .base_loss import BaseLoss


@MODELS.register_module()
class MaskBCELoss(BaseLoss):
    """Per-mask BCE averaged over valid pixels, summed over masks / ``num_masks``.

    ``forward(logits[M, P], targets[M, P], valid[M, P], num_masks) -> Tensor[]``.

    Args:
        loss_weight: weight of the term (authors: 4).
        released_double_sigmoid: feed ``sigmoid(logits)`` to BCE-with-logits, as the
            released code does (a double sigmoid that flattens the gradient).
    """

    def __init__(self, loss_weight: float = 1.0, released_double_sigmoid: bool = False) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.released_double_sigmoid = released_double_sigmoid

    def forward(self, logits: Tensor, targets: Tensor, valid: Tensor,
                num_masks: float) -> Tensor:
        if self.released_double_sigmoid:
            logits = logits.sigmoid()
        loss = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
        valid = valid.to(loss.dtype)
        per_mask = (loss * valid).sum(-1) / valid.sum(-1).clamp(min=1)
        return self.loss_weight * per_mask.sum() / num_masks
