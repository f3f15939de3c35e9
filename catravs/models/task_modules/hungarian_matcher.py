"""Hungarian matching of queries to ground-truth objects, one assignment per clip."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from einops import rearrange
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
    gt_labels[G], valid[T', h, w]) -> (query_idx[G], gt_idx[G])``; :meth:`match_all` solves
    many clips and decoder layers with one copy of their costs to the host.

    Args:
        cost_class: weight of the class cost (authors: 1).
        cost_dice: weight of the dice cost (authors: 7).
    """

    def __init__(self, cost_class: float = 1.0, cost_dice: float = 7.0) -> None:
        super().__init__()
        self.cost_class, self.cost_dice = cost_class, cost_dice

    @torch.no_grad()
    def cost(self, mask_logits: Tensor, class_logits: Tensor, gt_masks: Tensor,
             gt_labels: Tensor, valid: Tensor) -> Tensor:
        """``FloatTensor[Q, G]`` on the device of ``mask_logits``: class + dice cost."""
        probs = class_logits.float().softmax(-1).mean(0)  # [Q, K+1]
        cost = -self.cost_class * probs[:, gt_labels]
        pred = rearrange(mask_logits.float(), 't q h w -> q (t h w)')
        gt = rearrange(gt_masks.float(), 'g t h w -> g (t h w)')
        return cost + self.cost_dice * pairwise_dice_cost(pred, gt, valid.flatten())

    def forward(self, mask_logits: Tensor, class_logits: Tensor, gt_masks: Tensor,
                gt_labels: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        return self.match_all([(mask_logits, class_logits, gt_masks, gt_labels, valid)])[0]

    @torch.no_grad()
    def match_all(self, problems: Sequence[tuple]) -> list[tuple[Tensor, Tensor]]:
        """The assignment of each problem; every cost matrix goes to the host in one copy
        and the indices come back in one (non-blocking) copy."""
        if not problems:
            return []
        from scipy.optimize import linear_sum_assignment  # 0.25 s to import: when needed
        device = problems[0][0].device
        costs = [self.cost(*args) if args[3].numel() else None for args in problems]
        filled = [c.flatten() for c in costs if c is not None]
        host = torch.cat(filled).cpu().numpy() if filled else None
        found, start = [], 0
        for c in costs:
            if c is None:
                found.append((np.zeros(0, np.int64), np.zeros(0, np.int64)))
                continue
            block = host[start:start + c.numel()].reshape(c.shape)
            start += c.numel()
            found.append(tuple(np.asarray(i, np.int64) for i in linear_sum_assignment(block)))
        flat = torch.from_numpy(np.concatenate([i for pair in found for i in pair]))
        flat = flat.to(device, non_blocking=True)
        sizes = [len(i) for pair in found for i in pair]
        pieces = flat.split(sizes)
        return [(pieces[2 * k], pieces[2 * k + 1]) for k in range(len(found))]
