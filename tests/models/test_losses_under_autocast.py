"""Losses run in float32 under float16 autocast: sums over every pixel of a clip pass
float16's range (65504), which made the matcher's cost matrix NaN (seen on an H200 with
catr_pvt_avss, 10 frames at 224, under --amp; reproduced here on the CPU)."""
from __future__ import annotations

import torch

from catravs.models.losses import IoUMixLoss, MaskSetCriterion
from catravs.models.losses.mask_set_criterion import ClipTargets

T, Q, H = 10, 8, 224  # T * H * W = 501,760 pixels: far past float16's 65504


def _criterion_inputs():
    gen = torch.Generator().manual_seed(0)
    masks = [3 * torch.randn(1, T, Q, H, H, generator=gen)]
    logits = [torch.randn(1, T, Q, 4, generator=gen)]
    gt = (torch.rand(2, T, H, H, generator=gen) > 0.5).float()
    targets = [ClipTargets(masks=gt, labels=torch.tensor([1, 2]),
                           valid=torch.ones(T, H, H, dtype=torch.bool))]
    return masks, logits, targets


def test_set_criterion_under_float16_autocast_equals_float32():
    criterion = MaskSetCriterion(
        num_classes=3, matcher=dict(type='HungarianMatcher'),
        loss_cls=dict(type='ClassificationLoss'), loss_dice=dict(type='DiceLoss'),
        loss_bce=dict(type='MaskBCELoss'), aux_loss=False)
    masks, logits, targets = _criterion_inputs()
    fp32 = criterion(masks, logits, targets)
    with torch.autocast('cpu', dtype=torch.float16):
        amp = criterion([m.half() for m in masks], [c.half() for c in logits], targets)
    assert set(amp) == set(fp32)
    for key in fp32:
        assert amp[key].dtype == torch.float32, key
        # the inputs were rounded to float16 once; the arithmetic is float32
        torch.testing.assert_close(amp[key], fp32[key], rtol=2e-3, atol=1e-4)


def test_iou_mix_loss_under_float16_autocast_equals_float32():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(T, 1, H, H, generator=gen).half()
    feature = torch.randn(T, 16, H // 4, H // 4, generator=gen).half()
    gt = (torch.rand(T, H, H, generator=gen) > 0.5).long()
    weights = torch.ones(T)
    loss = IoUMixLoss()
    fp32 = loss(logits.float(), feature.float(), gt, weights)
    with torch.autocast('cpu', dtype=torch.float16):
        amp = loss(logits, feature, gt, weights)
    for key in fp32:
        assert amp[key].dtype == torch.float32 and torch.isfinite(amp[key]), key
        torch.testing.assert_close(amp[key], fp32[key], rtol=1e-4, atol=1e-5)
