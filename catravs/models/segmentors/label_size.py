"""Bring per-frame scores from the network's grid to a data sample's label size."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from catravs.structures import AVSDataSample

__all__ = ['to_label_size']


def to_label_size(scores: Tensor, sample: AVSDataSample, pad_shape: tuple[int, int]) -> Tensor:
    """Resize ``Tensor[T, K, h, w]`` to the labels: straight from the scores' grid when the
    input has no padding (as the released codes do), else through the padded input size
    and a crop to ``img_shape``. The label size is that of ``gt_masks``, else
    ``ori_shape``, else ``img_shape``."""
    img_h, img_w = sample.metainfo.get('img_shape', pad_shape)
    if 'gt_masks' in sample:
        label_size = tuple(sample.gt_masks.shape[-2:])
    else:
        label_size = tuple(sample.metainfo.get('ori_shape', (img_h, img_w)))
    if (img_h, img_w) == tuple(pad_shape):
        return F.interpolate(scores, size=label_size, mode='bilinear', align_corners=False)
    scores = F.interpolate(scores, size=pad_shape, mode='bilinear', align_corners=False)
    scores = scores[..., :img_h, :img_w]
    if tuple(scores.shape[-2:]) != label_size:
        scores = F.interpolate(scores, size=label_size, mode='bilinear', align_corners=False)
    return scores
