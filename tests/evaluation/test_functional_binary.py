"""catravs.evaluation.functional.binary against the numpy reference of AVSBench."""
import numpy as np
import pytest
import torch

from catravs.evaluation.functional import (
    binary_fscore,
    binary_fscore_curves,
    binary_jaccard,
    binary_pr_curves,
    fscore_of_curves,
)

from .avsbench_reference import ref_f_curve, ref_fscore, ref_jaccard, ref_pr_curve

TOL = 1e-6


def random_case(seed: int, n: int = 4, h: int = 12, w: int = 10, empty=(1,)):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, h, w, generator=g) * 3
    gt = (torch.rand(n, h, w, generator=g) > 0.6).long()
    for i in empty:
        gt[i] = 0
    return logits, gt


def check_all(logits: torch.Tensor, gt: torch.Tensor) -> None:
    lo, g = logits.numpy(), gt.numpy()
    np.testing.assert_allclose(binary_jaccard(logits, gt).numpy(), ref_jaccard(lo, g), atol=TOL)
    assert abs(binary_fscore(logits, gt) - ref_fscore(lo, g)) < TOL
    prec, rec = binary_pr_curves(logits, gt)
    fg = [i for i in range(len(g)) if g[i].sum() > 0]
    assert prec.shape == rec.shape == (len(fg), 255)
    for row, i in enumerate(fg):
        ref_p, ref_r = ref_pr_curve(lo[i], g[i])
        np.testing.assert_allclose(prec[row].numpy(), ref_p, atol=TOL)
        np.testing.assert_allclose(rec[row].numpy(), ref_r, atol=TOL)
        np.testing.assert_allclose(binary_fscore_curves(logits, gt)[row].numpy(),
                                   ref_f_curve(lo[i], g[i]), atol=TOL)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_random_inputs_match_reference(seed):
    check_all(*random_case(seed))


def test_edge_cases_match_reference():
    h, w = 8, 9
    logits = torch.randn(7, h, w, generator=torch.Generator().manual_seed(3)) * 4
    gt = torch.zeros(7, h, w, dtype=torch.long)
    gt[1] = 1                       # all positive
    logits[1] = 5.0                 # ... and predicted so
    gt[2, 4, 4] = 1                 # a single pixel
    gt[3] = 1                       # all positive, prediction empty
    logits[3] = -9.0
    gt[4, :3] = 1                   # prediction empty
    logits[4] = -30.0
    logits[5] = 30.0                # empty gt, everything predicted (frame 0: empty gt, random)
    gt[6, 2:5, 1:7] = 1             # saturated: float32 probabilities exactly 1.0 and 0.0,
    logits[6] = 200.0 * (2 * gt[6] - 1)  # on the first and last (= 1.0) thresholds
    check_all(logits, gt)


def test_known_values():
    gt = torch.zeros(3, 4, 4, dtype=torch.long)
    logits = torch.full((3, 4, 4), -10.0)
    gt[0, :2] = 1
    logits[0, :1] = 10.0            # half of the gt: IoU 8 / 16 ... of 8 gt pixels: 4/8
    logits[1, 0, 0] = 10.0          # empty gt, 1 false positive: 15 / 16
    gt[2] = 1
    logits[2] = 10.0                # perfect
    j = binary_jaccard(logits, gt)
    np.testing.assert_allclose(j.numpy(), [0.5, 15 / 16, 1.0], atol=1e-6)
    # float32 sigmoid: a tiny positive logit is 0.5 exactly, hence background
    tiny = torch.full((1, 2, 2), 1e-9)
    assert binary_jaccard(tiny, torch.ones(1, 2, 2, dtype=torch.long)).item() == 0.0


def test_fscore_groups_average_f_curves_not_precision_recall():
    """AVSBench averages per-frame F curves; averaging P and R first differs."""
    h, w = 10, 10
    gt = torch.zeros(2, h, w, dtype=torch.long)
    logits = torch.full((2, h, w), -10.0)
    gt[0, :5] = 1
    logits[0] = 10.0                # frame 0: everything predicted, P = 0.5, R = 1
    gt[1, 0, 0] = 1
    logits[1, 0, 0] = 10.0          # frame 1: perfect
    f0 = 1.3 * 0.5 / (0.3 * 0.5 + 1)
    # at high thresholds: mean of curves = (f0 + 1) / 2
    assert binary_fscore(logits, gt) == pytest.approx((f0 + 1) / 2, abs=1e-6)
    pm, rm = 0.75, 1.0
    assert binary_fscore(logits, gt) != pytest.approx(1.3 * pm * rm / (0.3 * pm + rm), abs=1e-3)


def test_all_frames_empty_scores_zero_f():
    logits, gt = random_case(4, empty=(0, 1, 2, 3))
    assert binary_fscore(logits, gt) == 0.0
    assert binary_fscore_curves(logits, gt).shape == (0, 255)
    assert fscore_of_curves(torch.zeros(255), 0) == 0.0
    np.testing.assert_allclose(binary_jaccard(logits, gt).numpy(),
                               ref_jaccard(logits.numpy(), gt.numpy()), atol=TOL)


def test_rejects_bad_inputs():
    with pytest.raises(ValueError):
        binary_jaccard(torch.zeros(2, 3, 3), torch.zeros(2, 3, 4, dtype=torch.long))
    gt = torch.zeros(1, 3, 3, dtype=torch.long)
    gt[0, 0, 0] = 255
    with pytest.raises(ValueError):
        binary_fscore(torch.zeros(1, 3, 3), gt)


def test_half_precision_logits_are_scored_in_float32():
    logits, gt = random_case(5)
    j16 = binary_jaccard(logits.half(), gt)
    assert j16.dtype == torch.float32
    np.testing.assert_allclose(j16.numpy(), ref_jaccard(logits.half().float().numpy(), gt.numpy()),
                               atol=TOL)
