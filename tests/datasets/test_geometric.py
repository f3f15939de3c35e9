"""Geometric transforms keep frames and masks aligned and use one geometry per clip."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from catravs.datasets.transforms import (
    ClipRandomCrop,
    ClipRandomFlip,
    ClipResize,
    ClipShortSideResizeCenterCrop,
    ClipTorchvision,
)

PAINT = np.array([250, 10, 250], dtype=np.uint8)      # a colour the background never has


def _clip(h: int = 40, w: int = 56, T: int = 3, seed: int = 0) -> dict:
    """Frames whose object pixels are exactly PAINT; masks mark those pixels.

    Frame T-1 has no label (255 everywhere).
    """
    rng = np.random.default_rng(seed)
    frames, masks = [], []
    for t in range(T):
        frame = rng.integers(0, 120, size=(h, w, 3), dtype=np.uint8)
        mask = np.zeros((h, w), np.uint8)
        y, x = 5 + 3 * t, 7 + 5 * t
        mask[y:y + 12, x:x + 9] = 1                        # a rectangle
        yy, xx = np.mgrid[:h, :w]
        mask[(yy - 28) ** 2 + (xx - 40 + t) ** 2 <= 36] = 1  # a disc
        frame[mask == 1] = PAINT
        frames.append(frame)
        masks.append(mask)
    masks[-1][:] = 255
    return dict(frames=frames, gt_masks=np.stack(masks), img_shape=(h, w), ori_shape=(h, w))


def _assert_aligned(results: dict) -> None:
    masks = results['gt_masks']
    assert masks.shape == (len(results['frames']), *results['frames'][0].shape[:2])
    assert results['img_shape'] == results['frames'][0].shape[:2]
    for t, frame in enumerate(results['frames'][:-1]):
        painted = (frame == PAINT).all(axis=-1)
        assert painted.sum() > 20, 'the object left the image: pick other parameters'
        assert np.array_equal(painted, masks[t] == 1), f'frame {t} and its mask differ'
        assert set(np.unique(masks[t]).tolist()) <= {0, 1}
    assert (masks[-1] == 255).all()                   # unlabelled frame stays unlabelled


@pytest.mark.parametrize('transform', [
    ClipResize((80, 64), interpolation='nearest'),
    ClipResize(48, keep_ratio=True, interpolation='nearest'),
    ClipRandomFlip(prob=1.0),
    ClipRandomFlip(prob=1.0, direction='vertical'),
    ClipRandomCrop((30, 36)),
    ClipTorchvision([dict(type='RandomAffine', degrees=20, translate=(0.1, 0.1),
                          scale=(0.8, 1.2), shear=10)]),
    ClipShortSideResizeCenterCrop(32, interpolation='nearest'),
])
def test_frames_and_masks_stay_aligned(transform):
    for seed in range(4):
        np.random.seed(seed)
        torch.manual_seed(seed)
        _assert_aligned(transform(_clip(seed=seed)))


def test_one_geometry_per_clip():
    """Identical input frames come out identical: the geometry is drawn once."""
    transforms = [ClipRandomFlip(0.5), ClipRandomCrop(32),
                  ClipTorchvision([dict(type='RandomAffine', degrees=30, translate=(0.2, 0.2),
                                        scale=(0.7, 1.3), shear=15)])]
    for seed in range(5):
        np.random.seed(seed)
        torch.manual_seed(seed)
        clip = _clip(T=4)
        clip['frames'] = [clip['frames'][0].copy() for _ in range(4)]
        clip['gt_masks'] = np.stack([clip['gt_masks'][0]] * 4)
        for transform in transforms:
            clip = transform(clip)
        for t in range(1, 4):
            assert np.array_equal(clip['frames'][t], clip['frames'][0])
            assert np.array_equal(clip['gt_masks'][t], clip['gt_masks'][0])


def test_flip_is_random_per_clip():
    np.random.seed(0)
    flips = [ClipRandomFlip(0.5)(_clip())['flip'] for _ in range(30)]
    assert 5 < sum(flips) < 25


def test_affine_border_values():
    torch.manual_seed(0)
    out = ClipTorchvision([dict(type='RandomAffine', degrees=0, scale=(0.5, 0.5))])(_clip())
    assert (out['frames'][0][0, 0] == 0).all()                # black frame border
    assert out['gt_masks'][0][0, 0] == 0                      # background mask border
    out = ClipTorchvision([dict(type='RandomAffine', degrees=0, scale=(0.5, 0.5),
                                fill=dict(Image=0, Mask=255))])(_clip())
    assert out['gt_masks'][0][0, 0] == 255 and (out['gt_masks'][0] == 1).any()
    assert (out['gt_masks'][-1] == 255).all()


def test_resize_without_masks_and_crop_padding():
    out = ClipResize((28, 20), resize_masks=False)(_clip())
    assert out['frames'][0].shape == (20, 28, 3) and out['gt_masks'].shape == (3, 40, 56)
    assert out['scale_factor'] == (0.5, 0.5)
    np.random.seed(0)
    out = ClipRandomCrop((48, 60))(_clip())
    assert out['frames'][0].shape == (48, 60, 3) and out['gt_masks'].shape == (3, 48, 60)
    assert (out['gt_masks'][0][40:] == 255).all()             # padded label is ignored
    assert (out['frames'][0][40:] == 0).all()


def test_affine_without_masks():
    clip = _clip()
    del clip['gt_masks']
    out = ClipTorchvision([dict(type='RandomAffine', degrees=10)])(clip)
    assert 'gt_masks' not in out and len(out['frames']) == 3
