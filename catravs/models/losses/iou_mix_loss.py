"""AVSegFormer's loss: a mask loss on the logits plus a 0.1-weighted dice on the mask feature."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from catravs.registry import MODELS
from catravs.structures import IGNORE_INDEX

from .base_criterion import BaseFrameCriterion
from .base_loss import float32_loss
from .dice_loss import dice_loss

__all__ = ['IoUMixLoss']


@MODELS.register_module()
class IoUMixLoss(BaseFrameCriterion):
    """``loss_iou`` on the mask logits and ``loss_mix`` on the mask feature, per frame,
    averaged over the annotated frames (released ``scripts/{s4,ms3,avss}/loss.py``).

    ``forward(logits[N, K, H, W], mask_feature[N, C, h, w], gt[N, H, W], weights[N])
    -> dict(loss_iou, loss_mix)`` (each already times its weight), with logits at the
    label size, ``gt`` a LongTensor (K = 1: 0/1; K > 1: class indices; 255 = ignore) and
    ``weights`` the frames' annotated flags (0/1; released ``gt_temporal_mask_flag``, or
    S4's first frame of each clip): each term is ``sum(w_t l_t) / sum(w_t)``.

    * ``loss_iou``: K = 1: the dice ``1 - 2 sum(p g) / (sum(p^2) + sum(g^2) + eps)`` of
      the sigmoid (``eps`` = 0.001 + 0.001 as released); K > 1: cross-entropy averaged
      over the frame's valid pixels.
    * ``loss_mix``: the same dice on the channel mean of the mask feature, bilinearly
      resized to the label size (unless it is there already: the segmentor passes the
      mean, cropped and resized like the logits), against ``gt > 0``.
    """

    def __init__(self, iou_weight: float = 1.0, mix_weight: float = 0.1,
                 eps: float = 0.002) -> None:
        super().__init__()
        self.iou_weight, self.mix_weight, self.eps = iou_weight, mix_weight, eps

    def _dice(self, logits: Tensor, targets: Tensor, valid: Tensor) -> Tensor:
        """``[N, H, W]`` each -> ``Tensor[N]``."""
        return dice_loss(logits.flatten(1), targets.flatten(1).to(logits.dtype),
                         valid.flatten(1).to(logits.dtype), eps=self.eps, numerator_eps=0.0,
                         squared=True)

    @float32_loss
    def forward(self, logits: Tensor, mask_feature: Tensor, gt: Tensor,
                weights: Tensor) -> dict[str, Tensor]:
        valid = gt != IGNORE_INDEX
        weights = weights.to(logits.dtype)
        total = weights.sum().clamp(min=1.0)
        if logits.shape[1] == 1:
            iou = self._dice(logits[:, 0], gt == 1, valid)
        else:
            ce = F.cross_entropy(logits, gt.masked_fill(~valid, 0), reduction='none')
            iou = (ce * valid).flatten(1).sum(-1) / valid.flatten(1).sum(-1).clamp(min=1)
        mean = mask_feature.mean(1, keepdim=True)
        if mean.shape[-2:] != gt.shape[-2:]:
            mean = F.interpolate(mean, size=gt.shape[-2:], mode='bilinear', align_corners=False)
        mix = self._dice(mean[:, 0], (gt > 0) & valid, valid)
        return dict(loss_iou=self.iou_weight * (iou * weights).sum() / total,
                    loss_mix=self.mix_weight * (mix * weights).sum() / total)
