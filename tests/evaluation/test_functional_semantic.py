"""catravs.evaluation.functional.semantic against the numpy reference of AVSBench."""
import numpy as np
import pytest
import torch

from catravs.evaluation.functional import (
    semantic_iou_fscore,
    semantic_iou_fscore_from_labels,
    semantic_miou_fscore,
    semantic_pred_labels,
)

from .avsbench_reference import ref_semantic, ref_semantic_dataset

TOL = 1e-6


def random_case(seed: int, n: int = 3, k: int = 5, h: int = 9, w: int = 11, ignore: bool = True):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, k, h, w, generator=g)
    gt = torch.randint(0, k - 1, (n, h, w), generator=g)   # class k-1 never labelled
    if ignore:
        gt[0, :2] = 255
    return scores, gt


def check(scores: torch.Tensor, gt: torch.Tensor) -> None:
    iou, f, count = semantic_iou_fscore(scores, gt)
    ref_iou, ref_f, ref_count = ref_semantic(scores.numpy(), gt.numpy())
    np.testing.assert_allclose(iou.numpy(), ref_iou, atol=TOL)
    np.testing.assert_allclose(f.numpy(), ref_f, atol=TOL)
    np.testing.assert_array_equal(count.numpy(), ref_count)
    miou, fs = semantic_miou_fscore(iou, f, count)
    ref_miou, ref_fs = ref_semantic_dataset(ref_iou, ref_f, ref_count)
    assert abs(miou - ref_miou) < TOL and abs(fs - ref_fs) < TOL


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_random_inputs_match_reference(seed):
    check(*random_case(seed))


def test_edge_cases_match_reference():
    scores, gt = random_case(7, n=4, ignore=False)
    gt[0] = 0                              # background only
    scores[1] = -5.0
    scores[1, 2] = 5.0                     # predicts class 2 everywhere
    gt[2] = 255                            # fully ignored frame
    gt[3] = 3
    scores[3] = 0.0
    scores[3, 3] = 1.0                     # perfect prediction
    check(scores, gt)
    iou, f, count = semantic_iou_fscore(scores[3:], gt[3:])
    assert iou[3] == pytest.approx(1.0) and f[3] == pytest.approx(1.0) and count.sum() == 1
    # a fully ignored frame contributes nothing
    iou, f, count = semantic_iou_fscore(scores[2:3], gt[2:3])
    assert count.sum() == 0 and iou.sum() == 0 and f.sum() == 0


def test_known_values():
    pred = torch.zeros(1, 2, 4, dtype=torch.long)
    gt = torch.zeros(1, 2, 4, dtype=torch.long)
    pred[0, 0] = 1                         # class 1 predicted on row 0
    gt[0, 0, :2] = 1                       # labelled on half of it
    iou, f, count = semantic_iou_fscore_from_labels(pred, gt, num_classes=3)
    p1, r1 = 2 / 4, 2 / 2
    np.testing.assert_allclose(iou.numpy(), [4 / 6, 2 / 4, 0.0])
    np.testing.assert_allclose(f.numpy(), [1.3 * 1 * (4 / 6) / (0.3 + 4 / 6),
                                           1.3 * p1 * r1 / (0.3 * p1 + r1), 0.0])
    np.testing.assert_array_equal(count.numpy(), [1, 1, 0])
    miou, _ = semantic_miou_fscore(iou, f, count)
    assert miou == pytest.approx((4 / 6 + 2 / 4 + 0) / 3)   # absent class counts 0


def test_false_positive_class_counts_a_frame_with_zero():
    pred = torch.zeros(1, 3, 3, dtype=torch.long)
    pred[0, 0, 0] = 2                      # class 2 predicted, never labelled
    gt = torch.zeros(1, 3, 3, dtype=torch.long)
    iou, f, count = semantic_iou_fscore_from_labels(pred, gt, num_classes=3)
    assert count[2] == 1 and iou[2] == 0 and f[2] == 0


def test_prediction_is_argmax_of_scores():
    scores, _ = random_case(3)
    assert torch.equal(semantic_pred_labels(scores), scores.argmax(1))


def test_rejects_bad_labels():
    pred = torch.zeros(1, 2, 2, dtype=torch.long)
    gt = torch.full((1, 2, 2), 7)
    with pytest.raises(ValueError):
        semantic_iou_fscore_from_labels(pred, gt, num_classes=3)
    with pytest.raises(ValueError):
        semantic_iou_fscore_from_labels(pred, gt[:, :1], num_classes=8)
