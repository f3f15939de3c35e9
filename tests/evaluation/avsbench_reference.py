"""An independent, loop-based numpy reading of AVSBench's metric definitions.

Written from the definitions (catr.md, "Metrics") and AVSBench's evaluation
code (``mask_iou``, ``_eval_pr``/``Eval_Fmeasure``, ``_batch_miou_fscore``),
without reusing anything from ``catravs.evaluation``. Deliberately slow and
literal: per frame, per threshold, per class.
"""
from __future__ import annotations

import numpy as np


def sigmoid32(x: np.ndarray) -> np.ndarray:
    """float32 sigmoid, as torch computes it on float32 logits."""
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(over='ignore'):
        return (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)


def ref_jaccard(logits: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame J: [N, H, W] x2 -> [N]."""
    out = []
    for lo, g in zip(logits, gt):
        p = sigmoid32(lo) > 0.5
        g = g.astype(bool)
        if g.sum() == 0:
            inter, union = np.sum(~p & ~g), g.size
        else:
            inter, union = np.sum(p & g), np.sum(p | g)
        out.append(np.float32(inter) / (np.float32(union) + np.float32(1e-7)))
    return np.array(out, dtype=np.float64)


def ref_thresholds(num: int = 255) -> np.ndarray:
    return np.linspace(0.0, 1.0 - 1e-10, num).astype(np.float32)


def ref_pr_curve(logit: np.ndarray, gt: np.ndarray,
                 num: int = 255) -> tuple[np.ndarray, np.ndarray]:
    """One frame's precision and recall at each threshold."""
    prob = sigmoid32(logit)
    g = gt.astype(np.float64)
    prec, rec = np.zeros(num), np.zeros(num)
    for i, th in enumerate(ref_thresholds(num)):
        y = (prob >= th).astype(np.float64)
        tp = np.sum(y * g)
        prec[i] = tp / (y.sum() + 1e-20)
        rec[i] = tp / (g.sum() + 1e-20)
    return prec, rec


def ref_f_curve(logit: np.ndarray, gt: np.ndarray, beta2: float = 0.3,
                num: int = 255) -> np.ndarray:
    prec, rec = ref_pr_curve(logit, gt, num)
    f = np.zeros(num)
    for i in range(num):
        d = beta2 * prec[i] + rec[i]
        f[i] = 0.0 if d == 0 else (1 + beta2) * prec[i] * rec[i] / d
    return f


def ref_fscore(logits: np.ndarray, gt: np.ndarray, beta2: float = 0.3, num: int = 255) -> float:
    """Eval_Fmeasure over one batch of frames: mean F curve of non-empty frames, max."""
    total, n = np.zeros(num), 0
    for lo, g in zip(logits, gt):
        if g.sum() == 0:
            continue
        total += ref_f_curve(lo, g, beta2, num)
        n += 1
    return 0.0 if n == 0 else float((total / n).max())


def ref_semantic(pred_scores: np.ndarray, gt: np.ndarray, beta2: float = 0.3,
                 ignore_index: int = 255) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class IoU sum, F sum and frame count over frames: [N, K, H, W], [N, H, W]."""
    k = pred_scores.shape[1]
    pred = pred_scores.argmax(1)
    iou_sum, f_sum, count = np.zeros(k), np.zeros(k), np.zeros(k)
    for p, g in zip(pred, gt):
        valid = g != ignore_index
        for c in range(k):
            pm, gm = (p == c) & valid, (g == c) & valid
            inter, ap, ag = np.sum(pm & gm), np.sum(pm), np.sum(gm)
            union = ap + ag - inter
            if union > 0:
                count[c] += 1
                iou_sum[c] += inter / union
            if inter > 0:
                prec, rec = inter / ap, inter / ag
                f_sum[c] += (1 + beta2) * prec * rec / (beta2 * prec + rec)
    return iou_sum, f_sum, count


def ref_semantic_dataset(iou_sum: np.ndarray, f_sum: np.ndarray, count: np.ndarray
                         ) -> tuple[float, float]:
    """mIoU and F: mean over all classes of sum / count, 0 for absent classes."""
    ious = [iou_sum[c] / count[c] if count[c] else 0.0 for c in range(len(count))]
    fs = [f_sum[c] / count[c] if count[c] else 0.0 for c in range(len(count))]
    return float(np.mean(ious)), float(np.mean(fs))
