"""Dice loss on mask logits."""
from __future__ import annotations

from torch import Tensor

from catravs.registry import MODELS

from .base_loss import BaseLoss


def dice_loss(logits: Tensor, targets: Tensor, valid: Tensor, eps: float = 1.0,
              numerator_eps: float | None = None, squared: bool = False) -> Tensor:
    """Per-mask dice loss ``1 - (2|p g| + eps_n) / (|p| + |g| + eps)`` over valid pixels.

    Args:
        logits, targets, valid: ``Tensor[M, P]`` (M masks of P pixels); targets in
            {0, 1}; ``valid`` is False on ignored pixels.
        eps: added to the denominator; numerator_eps: added to the numerator
            (``None``: ``eps``, the smoothed dice of DETR-style criteria).
        squared: ``|x|`` is ``sum(x^2)`` instead of ``sum(x)`` in the denominator
            (V-Net's dice; AVSegFormer's loss, with ``eps=0.002, numerator_eps=0``).

    Returns:
        ``Tensor[M]``.
    """
    probs = logits.sigmoid() * valid
    targets = targets * valid
    inter = (probs * targets).sum(-1)
    if squared:
        denominator = (probs * probs).sum(-1) + (targets * targets).sum(-1)
    else:
        denominator = probs.sum(-1) + targets.sum(-1)
    numerator_eps = eps if numerator_eps is None else numerator_eps
    return 1 - (2 * inter + numerator_eps) / (denominator + eps)


@MODELS.register_module()
class DiceLoss(BaseLoss):
    """Dice loss on matched masks.

    ``forward(logits[M, P], targets[M, P], valid[M, P], num_masks)`` -> weighted sum / num_masks.
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1.0) -> None:
        super().__init__()
        self.loss_weight, self.eps = loss_weight, eps

    def forward(self, logits: Tensor, targets: Tensor, valid: Tensor,
                num_masks: float) -> Tensor:
        return self.loss_weight * dice_loss(logits, targets, valid, self.eps).sum() / num_masks


def pairwise_dice_cost(logits: Tensor, targets: Tensor, valid: Tensor,
                       eps: float = 1.0) -> Tensor:
    """Dice cost between every prediction and every target.

    Args:
        logits: ``Tensor[Q, P]``; targets: ``Tensor[G, P]``; valid: ``BoolTensor[P]``.

    Returns:
        ``Tensor[Q, G]``.
    """
    probs = logits.sigmoid() * valid
    targets = targets * valid
    inter = probs @ targets.T
    return 1 - (2 * inter + eps) / (probs.sum(-1)[:, None] + targets.sum(-1)[None] + eps)



