"""Sigmoid focal loss on mask logits."""
from __future__ import annotations

from torch import Tensor

from catravs.registry import MODELS

from .base_loss import BaseLoss


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, valid: Tensor, alpha: float = 0.25,
                       gamma: float = 2.0) -> Tensor:
    """Per-mask focal loss averaged over valid pixels.

    Args:
        logits, targets, valid: ``Tensor[M, P]``.

    Returns:
        ``Tensor[M]``.
    """
    from torchvision.ops import sigmoid_focal_loss as focal_loss_map  # 0.6 s to import
    loss = focal_loss_map(logits, targets, alpha, gamma, reduction='none')
    valid = valid.to(loss.dtype)
    return (loss * valid).sum(-1) / valid.sum(-1).clamp(min=1)


@MODELS.register_module()
class SigmoidFocalLoss(BaseLoss):
    """Sigmoid focal loss on matched masks.

    ``forward(logits[M, P], targets[M, P], valid[M, P], num_masks)`` -> weighted sum / num_masks.
    """

    def __init__(self, loss_weight: float = 1.0, alpha: float = 0.25, gamma: float = 2.0) -> None:
        super().__init__()
        self.loss_weight, self.alpha, self.gamma = loss_weight, alpha, gamma

    def forward(self, logits: Tensor, targets: Tensor, valid: Tensor,
                num_masks: float) -> Tensor:
        loss = sigmoid_focal_loss(logits, targets, valid, self.alpha, self.gamma)
        return self.loss_weight * loss.sum() / num_masks
