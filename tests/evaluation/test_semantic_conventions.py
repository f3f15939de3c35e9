"""AVSSemanticMetric's two conventions against a hand computation and the loop-based
reference (``avsbench_reference.py``), which shares no code with catravs.

``mIoU`` / ``F-score``: real (annotated, valid) frames only.
``mIoU(avsbench)`` / ``F-score(avsbench)``: AVSBench-semantic's test convention, which
also scores each padding frame of a short clip against an all-background label.
"""
import numpy as np
import pytest
import torch

from catravs.evaluation import AVSSemanticMetric

from .avsbench_reference import ref_semantic, ref_semantic_dataset
from .clip_samples import run_metric, semantic_clip

IGNORE = 255


def hand_clip(as_logits: bool) -> dict:
    """3 classes, frames of 1 x 4 pixels: two real frames and one padding frame."""
    pred = torch.tensor([[[0, 1, 1, 1]], [[2, 2, 0, 0]], [[0, 0, 0, 1]]])
    gt = torch.tensor([[[0, 0, 1, 1]], [[2, 2, 2, 2]], [[IGNORE] * 4]])
    clip = dict(gt_masks=gt, annotated_frames=[True, True, False],
                valid_frames=[True, True, False], category='v1m', clip_id='u0',
                sample_idx=0)
    if as_logits:
        clip['seg_logits'] = 3.0 * torch.nn.functional.one_hot(pred, 3).permute(0, 3, 1, 2)
    else:
        clip['pred_masks'] = pred
    return clip


def f(p, r):
    return 1.3 * p * r / (0.3 * p + r)


@pytest.mark.parametrize('as_logits', [False, True])
def test_hand_computed_values(as_logits):
    # real frames.  frame 0: class 0 I=1 |P|=1 |G|=2 U=2; class 1 I=2 |P|=3 |G|=2 U=3.
    #               frame 1: class 0 I=0 U=2 (counted, 0); class 2 I=2 |P|=2 |G|=4 U=4.
    iou = [(1 / 2 + 0) / 2, (2 / 3) / 1, (2 / 4) / 1]
    fs = [(f(1, 1 / 2) + 0) / 2, f(2 / 3, 1) / 1, f(1, 2 / 4) / 1]
    # padding frame scored against background: class 0 I=3 |P|=3 |G|=4; class 1 I=0 U=1
    iou_a = [(1 / 2 + 0 + 3 / 4) / 3, (2 / 3 + 0) / 2, (2 / 4) / 1]
    fs_a = [(f(1, 1 / 2) + 0 + f(1, 3 / 4)) / 3, (f(2 / 3, 1) + 0) / 2, f(1, 2 / 4) / 1]
    metric = AVSSemanticMetric(num_classes=3)
    got = run_metric(metric, [hand_clip(as_logits)], batch_size=1)
    assert got == pytest.approx({'mIoU': np.mean(iou), 'F-score': np.mean(fs),
                                 'mIoU(avsbench)': np.mean(iou_a),
                                 'F-score(avsbench)': np.mean(fs_a)}, abs=1e-12)
    # figures a reader can check on paper
    assert got['mIoU'] == pytest.approx(17 / 36, abs=1e-12)
    assert got['mIoU(avsbench)'] == pytest.approx(5 / 12, abs=1e-12)


def reference(clips, padding: bool) -> dict:
    """Loop-based values of one convention over all clips."""
    k = clips[0]['seg_logits'].shape[1]
    iou, fs, count = np.zeros(k), np.zeros(k), np.zeros(k)
    for clip in clips:
        scores, gt = clip['seg_logits'].numpy(), clip['gt_masks'].numpy()
        for t in range(gt.shape[0]):
            real = clip['annotated_frames'][t] and clip['valid_frames'][t]
            pad = padding and not clip['valid_frames'][t]
            if not (real or pad):
                continue
            label = np.zeros_like(gt[t]) if pad else gt[t]
            a, b, c = ref_semantic(scores[t:t + 1], label[None])
            iou, fs, count = iou + a, fs + b, count + c
    return dict(zip(('mIoU', 'F-score'), ref_semantic_dataset(iou, fs, count)))


@pytest.mark.parametrize('seed', [0, 1])
def test_both_conventions_match_the_loop_reference(seed):
    rng = np.random.default_rng(seed)
    subsets = [str(s) for s in rng.choice(['v1s', 'v1m', 'v2'], size=6)] + ['v1m']
    clips = [semantic_clip(100 * seed + i, i, subset=s, num_classes=5, size=(7, 6))
             for i, s in enumerate(subsets)]
    for clip in clips:   # foreground guesses on some black padding frames
        for t, valid in enumerate(clip['valid_frames']):
            if not valid and rng.random() < 0.5:
                clip['seg_logits'][t, int(rng.integers(1, 5))] += 5.0
    got = run_metric(AVSSemanticMetric(), clips, batch_size=3)
    plain, padded = reference(clips, False), reference(clips, True)
    for key in ('mIoU', 'F-score'):
        assert got[key] == pytest.approx(plain[key], abs=1e-9), key
        assert got[key + '(avsbench)'] == pytest.approx(padded[key], abs=1e-9), key
    assert got['mIoU'] != pytest.approx(got['mIoU(avsbench)'], abs=1e-4)


def test_clips_without_padding_score_the_same_in_both():
    clips = [semantic_clip(i, i, subset='v2', num_classes=4) for i in range(3)]
    got = run_metric(AVSSemanticMetric(), clips, batch_size=2)
    assert got['mIoU'] == got['mIoU(avsbench)'] and got['F-score'] == got['F-score(avsbench)']
