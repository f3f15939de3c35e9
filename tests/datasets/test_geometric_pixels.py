"""Flips, resizes and crops checked by the pixels they move.

Each frame pixel holds its own coordinates ``(x, y, 7)`` (BGR channels), and the mask
holds an L shape that no flip maps onto itself, so each check names where a given
input pixel must land.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from catravs.datasets.transforms import (
    ClipRandomCrop,
    ClipRandomFlip,
    ClipResize,
    ClipTorchvision,
)

H, W = 12, 20


def coord_clip(t: int = 2) -> dict:
    yy, xx = np.mgrid[:H, :W]
    frame = np.stack([xx, yy, np.full_like(xx, 7)], -1).astype(np.uint8)
    mask = np.zeros((H, W), np.uint8)
    mask[2:7, 3] = 1            # vertical bar of the L, x = 3, y = 2..6
    mask[6, 3:9] = 1            # foot of the L, y = 6, x = 3..8
    return dict(frames=[frame.copy() for _ in range(t)], gt_masks=np.stack([mask] * t),
                img_shape=(H, W), ori_shape=(H, W))


def l_shape(xs, ys) -> set:
    return {(int(x), int(y)) for x, y in zip(xs, ys)}


def mask_pixels(mask: np.ndarray) -> set:
    ys, xs = np.nonzero(mask)
    return l_shape(xs, ys)


ORIGINAL = {(3, y) for y in range(2, 7)} | {(x, 6) for x in range(3, 9)}


@pytest.mark.parametrize('make', [
    lambda: ClipRandomFlip(prob=1.0),
    lambda: ClipTorchvision([dict(type='RandomHorizontalFlip', p=1.0)]),
])
def test_horizontal_flip_moves_x_to_w_minus_1_minus_x(make):
    out = make()(coord_clip())
    for frame, mask in zip(out['frames'], out['gt_masks']):
        assert tuple(frame[0, 0]) == (W - 1, 0, 7)          # top-left comes from top-right
        assert tuple(frame[5, 2]) == (W - 1 - 2, 5, 7)
        assert tuple(frame[H - 1, W - 1]) == (0, H - 1, 7)
        assert mask_pixels(mask) == {(W - 1 - x, y) for x, y in ORIGINAL}
        assert mask[6, W - 1 - 8] == 1 and mask[6, 8] == 0  # the foot now points left


@pytest.mark.parametrize('make', [
    lambda: ClipRandomFlip(prob=1.0, direction='vertical'),
    lambda: ClipTorchvision([dict(type='RandomVerticalFlip', p=1.0)]),
])
def test_vertical_flip_moves_y_to_h_minus_1_minus_y(make):
    out = make()(coord_clip())
    frame, mask = out['frames'][0], out['gt_masks'][0]
    assert tuple(frame[0, 4]) == (4, H - 1, 7) and tuple(frame[H - 1, 0]) == (0, 0, 7)
    assert mask_pixels(mask) == {(x, H - 1 - y) for x, y in ORIGINAL}


def test_no_flip_leaves_pixels():
    out = ClipRandomFlip(prob=0.0)(coord_clip())
    assert np.array_equal(out['frames'][0], coord_clip()['frames'][0])
    assert mask_pixels(out['gt_masks'][0]) == ORIGINAL


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_nearest_upscale_by_two_repeats_each_pixel(backend):
    out = ClipResize((2 * W, 2 * H), interpolation='nearest', backend=backend)(coord_clip())
    frame, mask = out['frames'][0], out['gt_masks'][0]
    assert frame.shape == (2 * H, 2 * W, 3) and out['scale_factor'] == (2.0, 2.0)
    yy, xx = np.mgrid[:2 * H, :2 * W]
    assert (frame[..., 0] == xx // 2).all() and (frame[..., 1] == yy // 2).all()
    assert mask_pixels(mask) == {(2 * x + i, 2 * y + j) for x, y in ORIGINAL
                                 for i in (0, 1) for j in (0, 1)}


@pytest.mark.parametrize('backend,offset', [('cv2', 0), ('pillow', 1)])
def test_nearest_downscale_by_two_picks_documented_pixel(backend, offset):
    """cv2 takes source pixel 2i (floor(i * 2)); PIL samples the pixel centre,
    floor((i + 0.5) * 2) = 2i + 1: the conventions the two backends document."""
    out = ClipResize((W // 2, H // 2), interpolation='nearest', backend=backend)(coord_clip())
    frame, mask = out['frames'][0], out['gt_masks'][0]
    yy, xx = np.mgrid[:H // 2, :W // 2]
    assert (frame[..., 0] == 2 * xx + offset).all() and (frame[..., 1] == 2 * yy + offset).all()
    src = coord_clip()['gt_masks'][0]
    assert np.array_equal(mask, src[offset::2, offset::2])


def test_bilinear_upscale_uses_half_pixel_centres():
    """Output x' samples source x = (x' + 0.5) / 2 - 0.5; a ramp of 40 per pixel gives
    exact values: x' = 1 -> 10, 2 -> 30, 3 -> 50 (edge pixel 0 clamps to 0)."""
    clip = coord_clip()
    clip['frames'] = [(f.astype(np.int32) * [40, 0, 0]).clip(0, 255).astype(np.uint8)
                      for f in clip['frames']]
    out = ClipResize((2 * W, 2 * H))(clip)
    row = out['frames'][0][3, :8, 0]
    assert row.tolist() == [0, 10, 30, 50, 70, 90, 110, 130]
    assert mask_pixels(out['gt_masks'][0]) == {(2 * x + i, 2 * y + j) for x, y in ORIGINAL
                                               for i in (0, 1) for j in (0, 1)}


def test_torchvision_resize_bilinear_and_nearest_mask():
    """Frames bilinear (antialiased, which is plain bilinear when enlarging), masks nearest."""
    clip = coord_clip()
    clip['frames'] = [(f.astype(np.int32) * [40, 0, 0]).clip(0, 255).astype(np.uint8)
                      for f in clip['frames']]
    out = ClipTorchvision([dict(type='Resize', size=2 * H)])(clip)
    assert out['frames'][0].shape == (2 * H, 2 * W, 3)
    assert out['frames'][0][3, :6, 0].tolist() == [0, 10, 30, 50, 70, 90]
    assert mask_pixels(out['gt_masks'][0]) == {(2 * x + i, 2 * y + j) for x, y in ORIGINAL
                                               for i in (0, 1) for j in (0, 1)}


def test_random_crop_takes_the_window_it_reports():
    for seed in range(5):
        np.random.seed(seed)
        out = ClipRandomCrop((6, 10))(coord_clip())
        x1, y1, x2, y2 = out['crop_bbox']
        assert (x2 - x1, y2 - y1) == (10, 6)
        for frame in out['frames']:
            assert tuple(frame[0, 0]) == (x1, y1, 7) and tuple(frame[5, 9]) == (x2 - 1, y2 - 1, 7)
        assert mask_pixels(out['gt_masks'][0]) == {
            (x - x1, y - y1) for x, y in ORIGINAL if x1 <= x < x2 and y1 <= y < y2}


def test_torchvision_center_crop_pads_evenly_with_zeros():
    torch.manual_seed(0)
    out = ClipTorchvision([dict(type='CenterCrop', size=(H + 2, W + 2))])(coord_clip())
    frame, mask = out['frames'][0], out['gt_masks'][0]
    assert tuple(frame[1, 1]) == (0, 0, 7) and tuple(frame[0, 0]) == (0, 0, 0)
    assert mask_pixels(mask) == {(x + 1, y + 1) for x, y in ORIGINAL}
