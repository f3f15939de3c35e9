"""Query classification loss with a down-weighted no-object class."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from catravs.registry import MODELS

from .base_loss import BaseLoss


@MODELS.register_module()
class ClassificationLoss(BaseLoss):
    """Cross-entropy over ``K + 1`` classes, the last being "no object".

    ``forward(logits[M, K + 1], labels[M]) -> Tensor[]`` (weighted mean).

    Args:
        num_classes: K.
        eos_coef: weight of the no-object class (authors: 0.1).
        loss_weight: weight of the term.
    """

    def __init__(self, num_classes: int = 1, eos_coef: float = 0.1,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        weight = torch.ones(num_classes + 1)
        weight[-1] = eos_coef
        self.register_buffer('class_weight', weight, persistent=False)

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        return self.loss_weight * F.cross_entropy(logits, labels, self.class_weight.to(logits))
