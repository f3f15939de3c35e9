"""Synthetic clips shaped like the data sample dicts that mmengine's Evaluator passes."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from catravs.structures.avs_data_sample import AVSDataSample

IGNORE = 255


def binary_clip(seed: int, sample_idx: int, annotated: Sequence[bool] = (True,) * 5,
                valid: Sequence[bool] | None = None, category: str = 'dog',
                empty_frames: Sequence[int] = (), size=(12, 10)) -> dict:
    """A clip of T = len(annotated) frames; unannotated frames hold 255 labels."""
    t = len(annotated)
    valid = [True] * t if valid is None else list(valid)
    g = torch.Generator().manual_seed(seed)
    gt = (torch.rand(t, *size, generator=g) > 0.6).long()
    for i in empty_frames:
        gt[i] = 0
    logits = torch.randn(t, *size, generator=g) * 2 + 1.5 * (2 * gt - 1)
    for i in range(t):
        if not (annotated[i] and valid[i]):
            gt[i] = IGNORE
    return dict(seg_logits=logits, pred_masks=(logits > 0).long(), gt_masks=gt,
                annotated_frames=list(annotated), valid_frames=valid, category=category,
                clip_id=f'clip{sample_idx}', sample_idx=sample_idx, num_frames=t)


def semantic_clip(seed: int, sample_idx: int, subset: str = 'v2', num_classes: int = 6,
                  t: int = 10, size=(9, 8)) -> dict:
    """An AVSS clip: v2 (all frames), v1m (5 real frames) or v1s (frame 0 annotated)."""
    real = t if subset == 'v2' else 5
    valid = [i < real for i in range(t)]
    annotated = [i < (1 if subset == 'v1s' else real) for i in range(t)]
    g = torch.Generator().manual_seed(seed)
    gt = torch.randint(0, num_classes, (t, *size), generator=g)
    gt[gt > 2] = 0                      # mostly background and two classes
    gt[gt == 2] = 1 + (seed % (num_classes - 1))
    scores = torch.randn(t, num_classes, *size, generator=g)
    scores += 2.5 * torch.nn.functional.one_hot(gt, num_classes).permute(0, 3, 1, 2)
    for i in range(t):
        if not annotated[i]:
            gt[i] = IGNORE
    return dict(seg_logits=scores, pred_masks=scores.argmax(1), gt_masks=gt,
                annotated_frames=annotated, valid_frames=valid, category=subset,
                clip_id=f'uid{sample_idx}', sample_idx=sample_idx, num_frames=t)


def to_data_sample(clip: dict) -> AVSDataSample:
    """The same clip as an AVSDataSample (fields + metainfo)."""
    fields = ('seg_logits', 'pred_masks', 'gt_masks')
    sample = AVSDataSample(metainfo={k: v for k, v in clip.items() if k not in fields})
    for k in fields:
        setattr(sample, k, clip[k])
    return sample


def scored(clip: dict) -> torch.Tensor:
    return torch.tensor([a and v for a, v in zip(clip['annotated_frames'], clip['valid_frames'])])


def run_metric(metric, clips: Sequence[dict], batch_size: int) -> dict:
    """process() in batches of ``batch_size`` clips, then compute_metrics."""
    metric.results.clear()
    for i in range(0, len(clips), batch_size):
        metric.process(None, clips[i:i + batch_size])
    return metric.compute_metrics(metric.results)
