"""AVSBench-semantic's per-class IoU and F-measure (AVSS).

Follows ``_batch_miou_fscore`` / ``calc_color_miou_fscore`` of AVSBench
(``avs_scripts/avss/utils/compute_color_metrics.py``) and its test loop:

* prediction = ``argmax(softmax(scores))`` over the K+1 classes (background
  included; AVSBench's background is class 0);
* per frame and class c, with ``I = |pred=c and gt=c|``, ``A_p = |pred=c|``,
  ``A_g = |gt=c|``, ``U = A_p + A_g - I``:
  ``IoU = I / (U + 2.220446049250313e-16)`` (so 0 when U = 0), and
  ``F = 1.3 P R / (0.3 P + R)`` with ``P = I / A_p``, ``R = I / A_g``, NaN set
  to 0 (so F = 0 whenever I = 0);
* IoU and F are summed over frames, and ``count[c]`` is the number of frames
  with ``U > 0`` (the class occurs in the prediction or the label);
* dataset values: ``mean over all K+1 classes of sum / count``, 0/0 counting 0.

Ignore labels: AVSBench's histogram code drops pixels whose shifted label is
0, i.e. label -1, from both the prediction and the label; its data never hold
one. Here pixels labelled ``ignore_index`` (255) are dropped the same way.

Shapes: N frames of H x W, K1 = K + 1 classes (background included).
"""
from __future__ import annotations

import torch
from torch import Tensor

from catravs.structures import IGNORE_INDEX

#: the epsilon AVSBench adds to the union (numpy's float64 machine epsilon).
SEMANTIC_IOU_EPS = 2.220446049250313e-16


def semantic_pred_labels(pred_scores: Tensor) -> Tensor:
    """AVSBench's class map: ``argmax(softmax(scores, 1), 1)`` in float32.

    Args:
        pred_scores: Tensor[N, K1, H, W] class scores (logits).

    Returns:
        LongTensor[N, H, W].
    """
    if pred_scores.dim() != 4:
        raise ValueError(f'pred_scores must be [N, K1, H, W], got {tuple(pred_scores.shape)}')
    return torch.softmax(pred_scores.float(), dim=1).argmax(dim=1)


def semantic_frame_areas(pred_labels: Tensor, gt: Tensor, num_classes: int,
                         ignore_index: int | None = IGNORE_INDEX) -> tuple[Tensor, Tensor, Tensor]:
    """Per-frame, per-class intersection, predicted and labelled areas.

    Args:
        pred_labels: LongTensor[N, H, W] predicted classes in [0, K1).
        gt: LongTensor[N, H, W] labels in [0, K1) or ``ignore_index``.
        num_classes: K1.
        ignore_index: label of pixels left out of both maps (None: none).

    Returns:
        (inter, area_pred, area_gt), each LongTensor[N, K1].
    """
    if pred_labels.dim() != 3 or pred_labels.shape != gt.shape:
        raise ValueError('pred_labels and gt must both be [N, H, W], got '
                         f'{tuple(pred_labels.shape)} and {tuple(gt.shape)}')
    n, k = gt.shape[0], num_classes
    gt = gt.long()
    pred_labels = pred_labels.long()
    valid = torch.ones_like(gt, dtype=torch.bool) if ignore_index is None else gt != ignore_index
    bad = valid & ((gt < 0) | (gt >= k))
    if bool(bad.any()):
        raise ValueError(f'gt holds labels outside [0, {k}): '
                         f'{torch.unique(gt[bad])[:5].tolist()}')
    if bool(((pred_labels < 0) | (pred_labels >= k)).any()):
        raise ValueError(f'pred_labels hold classes outside [0, {k})')
    frame = torch.arange(n, device=gt.device).view(n, 1, 1).expand_as(gt) * k

    def count(labels: Tensor, mask: Tensor) -> Tensor:
        return torch.bincount((labels + frame)[mask], minlength=n * k).view(n, k)

    inter = count(gt, valid & (pred_labels == gt))
    return inter, count(pred_labels, valid), count(gt, valid)


def semantic_iou_fscore_from_labels(pred_labels: Tensor, gt: Tensor, num_classes: int,
                                    beta2: float = 0.3, ignore_index: int | None = IGNORE_INDEX
                                    ) -> tuple[Tensor, Tensor, Tensor]:
    """AVSBench-semantic sums over a set of frames, from predicted class maps.

    Args:
        pred_labels: LongTensor[N, H, W]; gt: LongTensor[N, H, W];
        num_classes: K1; beta2: 0.3; ignore_index: 255 (see the module doc).

    Returns:
        (iou_sum, fscore_sum, count), each float64 Tensor[K1]: per class, the
        sums of the per-frame IoU and F over the frames where the class occurs
        in the prediction or the label, and the number of those frames.
    """
    inter, area_pred, area_gt = (a.double() for a in semantic_frame_areas(
        pred_labels, gt, num_classes, ignore_index))
    union = area_pred + area_gt - inter
    iou = inter / (union + SEMANTIC_IOU_EPS)
    hit = inter > 0
    precision = torch.where(hit, inter / area_pred.clamp(min=1), torch.zeros_like(inter))
    recall = torch.where(hit, inter / area_gt.clamp(min=1), torch.zeros_like(inter))
    denom = beta2 * precision + recall
    fscore = torch.where(hit, (1 + beta2) * precision * recall / denom.clamp(min=1e-300),
                         torch.zeros_like(inter))
    return iou.sum(0), fscore.sum(0), (union > 0).double().sum(0)


def semantic_iou_fscore(pred_logits: Tensor, gt: Tensor, beta2: float = 0.3,
                        ignore_index: int | None = IGNORE_INDEX) -> tuple[Tensor, Tensor, Tensor]:
    """AVSBench-semantic per-class sums over a set of frames.

    Args:
        pred_logits: Tensor[N, K1, H, W] class scores.
        gt: LongTensor[N, H, W] class labels (255 = ignore).
        beta2: beta squared of the F-measure (0.3).
        ignore_index: label of ignored pixels, or None.

    Returns:
        (iou_sum, fscore_sum, count), float64 Tensor[K1] each; see
        :func:`semantic_iou_fscore_from_labels` and :func:`semantic_miou_fscore`.
    """
    labels = semantic_pred_labels(pred_logits)
    return semantic_iou_fscore_from_labels(labels, gt, pred_logits.shape[1], beta2, ignore_index)


def semantic_per_class(value_sum: Tensor, count: Tensor) -> Tensor:
    """Per-class mean ``value_sum / count``, 0 where count is 0. Tensor[K1]."""
    return torch.where(count > 0, value_sum / count.clamp(min=1), torch.zeros_like(value_sum))


def semantic_miou_fscore(iou_sum: Tensor, fscore_sum: Tensor, count: Tensor) -> tuple[float, float]:
    """Dataset mIoU and F: means over all K1 classes (absent classes count 0)."""
    return (float(semantic_per_class(iou_sum, count).mean()),
            float(semantic_per_class(fscore_sum, count).mean()))
