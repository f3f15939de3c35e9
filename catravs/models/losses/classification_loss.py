"""Query classification loss with a down-weighted no-object class."""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from catravs.registry import MODELS

from .base_loss import BaseLoss

Normalize = Literal['weights', 'frames']


@MODELS.register_module()
class ClassificationLoss(BaseLoss):
    """Cross-entropy over ``K + 1`` classes, the last being "no object".

    ``forward(logits[F, Q, K + 1], labels[F, Q]) -> Tensor[]`` for F frames of Q
    queries each.

    Args:
        num_classes: K.
        eos_coef: weight of the no-object class (authors: 0.1).
        loss_weight: weight of the term.
        normalize: ``'weights'``: the weighted mean over all queries (DETR);
            ``'frames'``: the weighted sum over the queries, divided by the number
            of frames F (the released code: about Q * eos_coef times larger).
    """

    def __init__(self, num_classes: int = 1, eos_coef: float = 0.1,
                 loss_weight: float = 1.0, normalize: Normalize = 'weights') -> None:
        super().__init__()
        if normalize not in ('weights', 'frames'):
            raise ValueError(f"normalize must be 'weights' or 'frames', got {normalize!r}")
        self.loss_weight, self.normalize = loss_weight, normalize
        weight = torch.ones(num_classes + 1)
        weight[-1] = eos_coef
        self.register_buffer('class_weight', weight, persistent=False)

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        weight = self.class_weight.to(logits)
        flat_logits, flat_labels = logits.flatten(0, -2), labels.flatten()
        if self.normalize == 'weights':
            return self.loss_weight * F.cross_entropy(flat_logits, flat_labels, weight)
        loss = F.cross_entropy(flat_logits, flat_labels, weight, reduction='sum')
        return self.loss_weight * loss / logits.shape[0]
