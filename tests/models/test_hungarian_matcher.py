"""HungarianMatcher against a brute force over every assignment of objects to queries."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from catravs.models.task_modules import HungarianMatcher


def cost_matrix_by_loops(mask_logits, class_logits, gt_masks, gt_labels, valid,
                         cost_class, cost_dice):
    """``cost[q][g] = cost_class * -mean_t softmax_t(q)[label_g] + cost_dice * (1 - dice)``,
    the dice of q's and g's masks pooled over the valid pixels of all annotated frames."""
    frames, queries = class_logits.shape[:2]
    cost = [[0.0] * len(gt_labels) for _ in range(queries)]
    pix = [(t, y, x) for t in range(valid.shape[0]) for y in range(valid.shape[1])
           for x in range(valid.shape[2]) if valid[t, y, x]]
    for q in range(queries):
        probs = []
        for t in range(frames):
            row = [v.item() for v in class_logits[t, q]]
            z = sum(math.exp(v) for v in row)
            probs.append([math.exp(v) / z for v in row])
        p = [1 / (1 + math.exp(-mask_logits[t, q, y, x].item())) for t, y, x in pix]
        for g, label in enumerate(gt_labels.tolist()):
            cls = -sum(pr[label] for pr in probs) / frames
            gv = [gt_masks[g, t, y, x].item() for t, y, x in pix]
            inter = sum(a * b for a, b in zip(p, gv))
            dice = 1 - (2 * inter + 1) / (sum(p) + sum(gv) + 1)
            cost[q][g] = cost_class * cls + cost_dice * dice
    return cost


def brute_force_min(cost, num_queries, num_objects):
    return min(sum(cost[q][g] for g, q in enumerate(perm))
               for perm in itertools.permutations(range(num_queries), num_objects))


def random_case(seed, queries, objects, frames, size=4, num_classes=3, ignore=False):
    gen = torch.Generator().manual_seed(seed)
    mask_logits = torch.randn(frames, queries, size, size, generator=gen) * 2
    class_logits = torch.randn(frames, queries, num_classes + 1, generator=gen) * 2
    gt_masks = (torch.rand(objects, frames, size, size, generator=gen) > 0.5).float()
    gt_labels = torch.randint(0, num_classes, (objects,), generator=gen)
    valid = torch.ones(frames, size, size, dtype=torch.bool)
    if ignore:
        valid = torch.rand(frames, size, size, generator=gen) > 0.35
    return mask_logits, class_logits, gt_masks, gt_labels, valid


CASES = [(seed, q, g, t) for seed, (q, g, t) in enumerate(
    itertools.product((4, 5), (1, 2, 3), (1, 2)))]


@pytest.mark.parametrize('ignore', [False, True])
@pytest.mark.parametrize('cost_class,cost_dice', [(1.0, 7.0), (3.0, 1.0)])
def test_matcher_reaches_the_brute_force_minimum(ignore, cost_class, cost_dice):
    matcher = HungarianMatcher(cost_class=cost_class, cost_dice=cost_dice)
    for seed, q, g, t in CASES:
        case = random_case(100 * seed + 7 * ignore, q, g, t, ignore=ignore)
        q_idx, g_idx = matcher(*case)
        assert q_idx.dtype == g_idx.dtype == torch.long
        assert sorted(g_idx.tolist()) == list(range(g))
        assert len(set(q_idx.tolist())) == g and all(0 <= i < q for i in q_idx.tolist())
        cost = cost_matrix_by_loops(*case, cost_class, cost_dice)
        got = sum(cost[qi][gi] for qi, gi in zip(q_idx.tolist(), g_idx.tolist()))
        assert got == pytest.approx(brute_force_min(cost, q, g), abs=1e-5), (seed, q, g, t)


def test_ignored_pixels_decide_the_match():
    """The object fills the left half. Query 0 is sure of the left half and also (wrongly)
    of the right half; query 1 gives 0.8 on the left half and nothing on the right.
    Counting every pixel, query 1 is closer (dice loss 1 - 7.4/8.2 vs 1 - 9/13); with the
    right half ignored, query 0 is exact (dice loss 0) and must win."""
    gt = torch.zeros(1, 1, 2, 4)
    gt[0, 0, :, :2] = 1
    logits = torch.full((1, 2, 2, 4), 20.0)  # query 0: foreground everywhere
    logits[0, 1, :, :2] = math.log(4.0)  # query 1: 0.8 on the left half
    logits[0, 1, :, 2:] = -20.0
    classes = torch.zeros(1, 2, 2)
    labels = torch.tensor([0])
    all_valid = torch.ones(1, 2, 4, dtype=torch.bool)
    right_ignored = all_valid.clone()
    right_ignored[0, :, 2:] = False
    assert HungarianMatcher()(logits, classes, gt, labels, all_valid)[0].tolist() == [1]
    assert HungarianMatcher()(logits, classes, gt, labels, right_ignored)[0].tolist() == [0]


def test_class_cost_averages_the_frames():
    """Equal masks: the class probability averaged over frames decides. Query 0 is sure in
    frame 0 only (mean 0.5), query 1 moderately sure in both frames (mean 0.73)."""
    masks = torch.zeros(2, 2, 2, 2)
    gt = torch.zeros(1, 2, 2, 2)
    classes = torch.tensor([[[10.0, 0.0], [1.0, 0.0]],
                            [[-10.0, 0.0], [1.0, 0.0]]])  # [T'=2, Q=2, K+1=2]
    valid = torch.ones(2, 2, 2, dtype=torch.bool)
    q_idx, _ = HungarianMatcher()(masks, classes, gt, torch.tensor([0]), valid)
    assert q_idx.tolist() == [1]


def test_no_object_gives_empty_indices():
    case = random_case(0, 4, 1, 2)
    q_idx, g_idx = HungarianMatcher()(case[0], case[1], case[2][:0], case[3][:0], case[4])
    assert q_idx.numel() == 0 and g_idx.numel() == 0 and q_idx.dtype == torch.long


def test_dice_cost_pools_the_frames_rather_than_averaging_per_frame_dice():
    """T' = 2, one object of 8 pixels in frame 0 and 1 pixel in frame 1 (4 x 4 frames).
    Query A is exact on frame 0 and empty on frame 1; query B is exact on frame 1 and
    covers 4 of the 8 pixels on frame 0. Pooled over both frames (the documented cost):
    A = 1 - 17/18, B = 1 - 11/15, so A wins. The mean of per-frame dice (the released
    matcher's ``dice_coef(...).mean(0)``, identical when T' = 1) would pick B:
    A = (0 + 1/2) / 2, B = (1 - 9/13 + 0) / 2."""
    big = 20.0
    gt = torch.zeros(1, 2, 4, 4)
    gt[0, 0, :2] = 1  # 8 pixels
    gt[0, 1, 3, 3] = 1  # 1 pixel
    logits = torch.full((2, 2, 4, 4), -big)  # [T', Q, h, w]
    logits[0, 0, :2] = big  # A: frame 0 exact, frame 1 empty
    logits[0, 1, 0] = big  # B: half of frame 0 ...
    logits[1, 1, 3, 3] = big  # ... and frame 1 exact
    valid = torch.ones(2, 4, 4, dtype=torch.bool)
    classes = torch.zeros(2, 2, 2)
    q_idx, _ = HungarianMatcher()(logits, classes, gt, torch.tensor([0]), valid)
    assert q_idx.tolist() == [0]
    cost = cost_matrix_by_loops(logits, classes, gt, torch.tensor([0]), valid, 0.0, 1.0)
    assert cost[0][0] == pytest.approx(1 - 17 / 18, abs=1e-6)
    assert cost[1][0] == pytest.approx(1 - 11 / 15, abs=1e-6)
