"""AVSS pipelines as AVSBench-semantic's loader prepares frames: val/test resize the whole
frame to 224 x 224, training resizes the short side and centre-crops; both with PIL.

The oracle is AVSBench's recipe written here with PIL directly (``resize_img`` and
``crop_resize_img`` of its ``avss/dataloader.py``), on frames with a known pattern."""
from __future__ import annotations

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from catravs.datasets.transforms import ClipResize, ClipShortSideResizeCenterCrop
from catravs.registry import TRANSFORMS

H, W = 360, 640      # an AVSS frame


def pattern_clip(t: int = 2) -> dict:
    """Frames with a gradient and a left-edge band; labels: class 1 on the left quarter,
    class 2 on a block at the bottom right, background elsewhere."""
    yy, xx = np.mgrid[:H, :W]
    frame = np.stack([xx * 255 // W, yy * 255 // H, (xx + yy) % 256], -1).astype(np.uint8)
    frame[:, :W // 4, 2] = 255
    mask = np.zeros((H, W), np.uint8)
    mask[:, :W // 4] = 1
    mask[3 * H // 4:, 3 * W // 4:] = 2
    return dict(frames=[frame.copy() for _ in range(t)], gt_masks=np.stack([mask] * t),
                img_shape=(H, W), ori_shape=(H, W))


def avsbench_resize(img: Image.Image, is_mask: bool) -> np.ndarray:
    """AVSBench's val/test ``resize_img``: the whole frame to 224 x 224."""
    return np.asarray(img.resize((224, 224), Image.NEAREST if is_mask else Image.BILINEAR))


def avsbench_crop_resize(img: Image.Image, is_mask: bool) -> np.ndarray:
    """AVSBench's training ``crop_resize_img``: short side to 224, centre crop."""
    w, h = img.size
    if w > h:
        oh, ow = 224, int(1.0 * w * 224 / h)
    else:
        ow, oh = 224, int(1.0 * h * 224 / w)
    img = img.resize((ow, oh), Image.NEAREST if is_mask else Image.BILINEAR)
    x1, y1 = int(round((ow - 224) / 2.0)), int(round((oh - 224) / 2.0))
    return np.asarray(img.crop((x1, y1, x1 + 224, y1 + 224)))


@pytest.mark.parametrize('transform,oracle', [
    (ClipResize(224, backend='pillow'), avsbench_resize),
    (ClipShortSideResizeCenterCrop(224, backend='pillow'), avsbench_crop_resize),
])
def test_pillow_backend_equals_avsbench_recipe(transform, oracle):
    clip = pattern_clip()
    want_frame = oracle(Image.fromarray(clip['frames'][0][..., ::-1].copy()), False)  # RGB
    want_mask = oracle(Image.fromarray(clip['gt_masks'][0]), True)
    out = transform(clip)
    assert np.array_equal(out['frames'][0][..., ::-1], want_frame)
    assert np.array_equal(out['gt_masks'][0], want_mask)
    assert np.array_equal(out['frames'][1], out['frames'][0])
    assert out['img_shape'] == (224, 224)


def run_geometry(pipeline: list) -> dict:
    out = pattern_clip()
    for step in pipeline:
        if not (step['type'].startswith('Load') or step['type'] == 'PackAVSInputs'):
            out = TRANSFORMS.build(dict(step))(out)
    return out


def test_config_val_test_resize_whole_frame_train_crops():
    cfg = Config.fromfile('configs/_base_/datasets/avsbench_avss.py')
    assert cfg.val_dataloader.dataset.pipeline == cfg.test_pipeline
    assert cfg.test_dataloader.dataset.pipeline == cfg.test_pipeline
    assert cfg.train_dataloader.dataset.pipeline == cfg.train_pipeline
    test = run_geometry(cfg.test_pipeline)
    train = run_geometry(cfg.train_pipeline)
    for out in (test, train):
        assert out['frames'][0].shape == (448, 448, 3) and out['gt_masks'].shape[1:] == (224, 224)
    labels = test['gt_masks'][0]
    # whole frame: the left quarter (class 1) is 56 columns wide, the block at the bottom
    # right is the last quarter of both axes
    assert (labels[:, :56] == 1).all() and (labels[:, 56:] != 1).all()
    assert (labels[168:, 168:] == 2).all() and (labels[:168, 168:] == 0).all()
    assert np.array_equal(labels, avsbench_resize(Image.fromarray(pattern_clip()['gt_masks'][0]),
                                                  True))
    # training crop: the 398 x 224 resize loses 87 columns each side, so class 1
    # (99.5 columns wide) keeps only about 12 columns and the block is cut at the right
    crop = train['gt_masks'][0]
    ones = np.flatnonzero((crop == 1).all(axis=0))
    assert ones.tolist() == list(range(len(ones))) and 10 <= len(ones) <= 14
    assert np.array_equal(crop, avsbench_crop_resize(
        Image.fromarray(pattern_clip()['gt_masks'][0]), True))


def test_bad_backend_is_refused():
    with pytest.raises(ValueError, match='backend'):
        ClipResize(224, backend='skimage')
