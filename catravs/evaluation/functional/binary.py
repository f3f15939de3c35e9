"""AVSBench's binary metrics (S4 / MS3): the Jaccard index J and the F-measure.

Both follow the AVSBench evaluation code (``mask_iou`` and ``Eval_Fmeasure``
in ``avs_scripts/avs_s4/utils/utility.py``, reused unchanged by CATR),
including its float32 arithmetic and epsilons:

* J, per frame: ``P = sigmoid(logits) > 0.5`` (float32 sigmoid, so a logit
  below ~3e-8 counts as background); ``J = |P and G| / (|P or G| + 1e-7)``;
  a frame with an empty ground truth scores ``TN / (H * W + 1e-7)`` (the
  fraction of pixels correctly left empty).
* F, per frame with a non-empty ground truth: 255 float32 thresholds
  ``linspace(0, 1 - 1e-10, 255)`` (the last one rounds to exactly 1.0 in
  float32); at each threshold ``p >= t`` is the prediction,
  ``precision = TP / (|pred| + 1e-20)`` (0 when nothing is predicted),
  ``recall = TP / (|G| + 1e-20)``, ``F = 1.3 P R / (0.3 P + R)`` with NaN
  (``P = R = 0``) set to 0. Over a group of frames, the per-frame F *curves*
  are averaged (not precision and recall) and the maximum over thresholds is
  the group's F. A group whose frames all have an empty ground truth scores 0.

Shapes: N frames of H x W; ``gt`` holds 0/1 values.
"""
from __future__ import annotations

import torch
from torch import Tensor

#: epsilon of AVSBench's ``mask_iou`` (added to the union).
JACCARD_EPS = 1e-7
#: epsilon of AVSBench's ``_eval_pr`` (added to both denominators).
PR_EPS = 1e-20


def _check_binary(pred_logits: Tensor, gt: Tensor) -> None:
    if pred_logits.dim() != 3 or pred_logits.shape != gt.shape:
        raise ValueError('pred_logits and gt must both be [N, H, W], got '
                         f'{tuple(pred_logits.shape)} and {tuple(gt.shape)}')
    if not gt.numel():
        return
    if gt.is_floating_point():
        wrong = bool(((gt != 0) & (gt != 1)).any())
    else:
        low, high = gt.aminmax()
        wrong = bool(low < 0) or bool(high > 1)
    if wrong:
        bad = torch.unique(gt[(gt != 0) & (gt != 1)])[:5].tolist()
        raise ValueError(f'binary gt must hold only 0 and 1, found {bad}; '
                         'ignore labels are not defined for AVSBench binary metrics')


def binary_probs(pred_logits: Tensor) -> Tensor:
    """Float32 sigmoid probabilities, as AVSBench computes them. Same shape."""
    return torch.sigmoid(pred_logits.float())


def binary_jaccard(pred_logits: Tensor, gt: Tensor, eps: float = JACCARD_EPS) -> Tensor:
    """Per-frame Jaccard index J of AVSBench.

    Args:
        pred_logits: Tensor[N, H, W] mask logits.
        gt: Tensor[N, H, W] of 0/1.
        eps: added to the union (AVSBench: 1e-7, float32).

    Returns:
        Tensor[N] float32: J of each frame; frames with an empty ground truth
        score ``true negatives / (H * W + eps)``.
    """
    _check_binary(pred_logits, gt)
    pred = (binary_probs(pred_logits) > 0.5).flatten(1)
    target = gt.bool().flatten(1)
    inter = torch.count_nonzero(pred & target, dim=1)
    union = torch.count_nonzero(pred | target, dim=1)
    empty = torch.count_nonzero(target, dim=1) == 0
    true_neg = target.shape[1] - union
    num_pixels = gt.shape[-1] * gt.shape[-2]
    inter = torch.where(empty, true_neg, inter).float()
    union = torch.where(empty, torch.full_like(union, num_pixels), union).float()
    return inter / (union + eps)


def fscore_thresholds(num_thresholds: int = 255,
                      device: torch.device | str | None = None) -> Tensor:
    """AVSBench's thresholds: float32 ``linspace(0, 1 - 1e-10, num)``. Tensor[num]."""
    return torch.linspace(0, 1 - 1e-10, num_thresholds, dtype=torch.float32, device=device)


def _positive_counts(probs: Tensor, thresholds: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Pixels with ``probs >= t`` for every threshold t, per frame: all and true ones.

    probs: Tensor[N, P]; thresholds: increasing Tensor[M]; target: BoolTensor[N, P].
    Returns (positives, true positives), LongTensor[N, M] each.
    """
    n, m = probs.shape[0], thresholds.numel()
    # bucket b = number of thresholds <= p, so p >= t_j  <=>  b > j.
    bucket = torch.bucketize(probs, thresholds, right=True)
    offsets = torch.arange(n, device=probs.device).unsqueeze(1) * (m + 1)
    index = (bucket + offsets).flatten()
    return (_tail_counts(index, n, m), _tail_counts(index[target.flatten()], n, m))


def _tail_counts(index: Tensor, n: int, m: int) -> Tensor:
    """counts[i, j] = number of entries of frame i with bucket > j. LongTensor[N, M]."""
    hist = torch.bincount(index, minlength=n * (m + 1)).view(n, m + 1)
    # counts[:, j] = sum of hist[:, j + 1:]
    tail = hist.flip(1).cumsum(1).flip(1)
    return tail[:, 1:]


def binary_pr_curves(pred_logits: Tensor, gt: Tensor,
                     num_thresholds: int = 255) -> tuple[Tensor, Tensor]:
    """Per-frame precision and recall curves of the frames with a non-empty gt.

    Args:
        pred_logits: Tensor[N, H, W] mask logits.
        gt: Tensor[N, H, W] of 0/1.
        num_thresholds: number of thresholds (AVSBench: 255).

    Returns:
        (precision, recall), each float32 Tensor[N', num_thresholds], where N'
        is the number of frames whose ground truth is not empty, in order.
    """
    _check_binary(pred_logits, gt)
    keep = gt.flatten(1).sum(1) > 0
    probs = binary_probs(pred_logits[keep]).flatten(1)
    target = gt[keep].flatten(1).bool()
    thresholds = fscore_thresholds(num_thresholds, device=probs.device)
    pos, tp = (c.float() for c in _positive_counts(probs, thresholds, target))
    gt_sum = target.sum(1, keepdim=True).float()
    return tp / (pos + PR_EPS), tp / (gt_sum + PR_EPS)


def fscore_from_pr(precision: Tensor, recall: Tensor, beta2: float = 0.3) -> Tensor:
    """``(1 + b2) P R / (b2 P + R)`` elementwise, NaN (P = R = 0) set to 0. Same shape."""
    f = (1 + beta2) * precision * recall / (beta2 * precision + recall)
    return torch.nan_to_num(f, nan=0.0)


def binary_fscore_curves(pred_logits: Tensor, gt: Tensor, beta2: float = 0.3,
                         num_thresholds: int = 255) -> Tensor:
    """Per-frame F curves of the frames with a non-empty gt.

    Args: as :func:`binary_pr_curves`, plus ``beta2`` (AVSBench: 0.3).

    Returns:
        float32 Tensor[N', num_thresholds]; average these over a group of
        frames and take the maximum to get the group's F (see
        :func:`fscore_of_curves`).
    """
    precision, recall = binary_pr_curves(pred_logits, gt, num_thresholds)
    return fscore_from_pr(precision, recall, beta2)


def fscore_of_curves(curve_sum: Tensor, num_frames: int) -> float:
    """A group's F: ``max_t(curve_sum[t] / num_frames)``; 0.0 for no frame.

    Args:
        curve_sum: Tensor[M], the sum of the group's per-frame F curves.
        num_frames: number of curves summed (frames with a non-empty gt).
    """
    if num_frames == 0:
        return 0.0
    return float((curve_sum / num_frames).max())


def binary_fscore(pred_logits: Tensor, gt: Tensor, beta2: float = 0.3,
                  num_thresholds: int = 255) -> float:
    """AVSBench's F-measure of one group of frames (one evaluation batch).

    Args:
        pred_logits: Tensor[N, H, W] mask logits.
        gt: Tensor[N, H, W] of 0/1.
        beta2: beta squared (0.3).
        num_thresholds: 255.

    Returns:
        The maximum over thresholds of the mean F curve of the frames with a
        non-empty gt; 0.0 if every frame has an empty gt (as AVSBench).
    """
    curves = binary_fscore_curves(pred_logits, gt, beta2, num_thresholds)
    return fscore_of_curves(curves.sum(0), curves.shape[0])
