"""Hungarian matching of queries to ground-truth objects, one assignment per clip."""
from __future__ import annotations

import torch
from einops import rearrange
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from catravs.models.losses.dice_loss import pairwise_dice_cost
from catravs.registry import MODELS

from .base_matcher import BaseMatcher


@MODELS.register_module()
class HungarianMatcher(BaseMatcher):
    """Match the Q queries of a clip to its G objects on class + dice cost.

    A query keeps its index across the clip's frames, so the cost of (q, g)
    pools every annotated frame: the class cost is ``-mean_t p_t(q, label_g)`` and
    the dice cost compares the query's masks on all annotated frames with the
    object's, ignoring pixels marked invalid.

    ``forward(mask_logits[T', Q, h, w], class_logits[T', Q, K+1], gt_masks[G, T', h, w],
    gt_labels[G], valid[T', h, w]) -> (query_idx[G], gt_idx[G])``.

    Args:
        cost_class: weight of the class cost (authors: 1).
        cost_dice: weight of the dice cost (authors: 7).
    """

    def __init__(self, cost_class: float = 1.0, cost_dice: float = 7.0) -> None:
        super().__init__()
        self.cost_class, self.cost_dice = cost_class, cost_dice

    @torch.no_grad()
    def forward(self, mask_logits: Tensor, class_logits: Tensor, gt_masks: Tensor,
                gt_labels: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        device = mask_logits.device
        if gt_labels.numel() == 0:
            empty = torch.empty(0, dtype=torch.long, device=device)
            return empty, empty
        probs = class_logits.float().softmax(-1).mean(0)  # [Q, K+1]
        cost = -self.cost_class * probs[:, gt_labels]
        pred = rearrange(mask_logits.float(), 't q h w -> q (t h w)')
        gt = rearrange(gt_masks.float(), 'g t h w -> g (t h w)')
        cost = cost + self.cost_dice * pairwise_dice_cost(pred, gt, valid.flatten())
        q_idx, g_idx = linear_sum_assignment(cost.cpu().numpy())
        return (torch.as_tensor(q_idx, dtype=torch.long, device=device),
                torch.as_tensor(g_idx, dtype=torch.long, device=device))
