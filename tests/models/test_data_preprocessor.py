"""AVSDataPreprocessor against a hand computation: BGR -> RGB, ImageNet mean and std
(the released loader's ``ToTensor`` + ``Normalize((0.485, 0.456, 0.406),
(0.229, 0.224, 0.225))``), padding to ``size_divisor``, labels left at their own size."""
from __future__ import annotations

import pytest
import torch

from catravs.models.data_preprocessor import AVSDataPreprocessor
from catravs.structures import AVSDataSample

RGB_MEAN = (0.485, 0.456, 0.406)
RGB_STD = (0.229, 0.224, 0.225)


def clip(t: int, h: int, w: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (t, 3, h, w), generator=g, dtype=torch.uint8)


def batch(with_samples: bool = True) -> dict:
    frames = [clip(2, 3, 5, 0), clip(2, 4, 3, 1)]
    audio = [torch.full((2, 1, 96, 64), float(i)) for i in range(2)]
    samples = None
    if with_samples:
        samples = []
        for i, f in enumerate(frames):
            s = AVSDataSample(metainfo=dict(img_shape=tuple(f.shape[-2:]), clip_id=f'c{i}'))
            gt = torch.zeros(2, 7, 9, dtype=torch.long)
            gt[0, 1:3, 2:5] = 1
            gt[1] = 255
            s.gt_masks = gt
            samples.append(s)
    return dict(inputs=dict(frames=frames, audio=audio), data_samples=samples)


def by_hand(frames: torch.Tensor, height: int, width: int, bgr_to_rgb: bool) -> torch.Tensor:
    """Pixel by pixel: x / 255, minus mean, over std (ToTensor + Normalize), zero padding."""
    t, _, h, w = frames.shape
    out = torch.zeros(t, 3, height, width, dtype=torch.float64)
    for f in range(t):
        for c in range(3):
            src = 2 - c if bgr_to_rgb else c        # RGB channel c is BGR channel 2 - c
            for y in range(h):
                for x in range(w):
                    v = int(frames[f, src, y, x]) / 255.0
                    out[f, c, y, x] = (v - RGB_MEAN[c]) / RGB_STD[c]
    return out


@pytest.mark.parametrize('bgr_to_rgb', [True, False])
def test_normalisation_channel_order_and_padding(bgr_to_rgb):
    data = batch()
    pre = AVSDataPreprocessor(size_divisor=4, bgr_to_rgb=bgr_to_rgb)
    out = pre(data, training=True)
    frames = out['inputs']['frames']
    # batch max 4 x 5, padded up to multiples of 4: 4 x 8
    assert frames.shape == (2, 2, 3, 4, 8) and frames.dtype == torch.float32
    for i, src in enumerate(data['inputs']['frames']):
        want = by_hand(src, 4, 8, bgr_to_rgb)
        assert torch.allclose(frames[i].double(), want, atol=2e-6)
    # padding is zero after normalisation, at the bottom and the right only
    assert (frames[0, :, :, 3:, :] == 0).all() and (frames[0, :, :, :, 5:] == 0).all()
    assert (frames[1, :, :, :, 3:] == 0).all() and (frames[1, :, :, :4, :3] != 0).any()
    # one hand-picked pixel: BGR (b, g, r) -> channel 0 from r when converting
    b, g, r = (int(v) for v in data['inputs']['frames'][1][1, :, 2, 0])
    first = r if bgr_to_rgb else b
    assert frames[1, 1, 0, 2, 0].item() == pytest.approx((first / 255 - 0.485) / 0.229,
                                                         abs=2e-6)


def test_labels_keep_their_size_and_meta_gets_the_batch_shape():
    data = batch()
    before = [s.gt_masks.clone() for s in data['data_samples']]
    out = AVSDataPreprocessor(size_divisor=4)(data, training=False)
    for sample, gt in zip(out['data_samples'], before):
        assert torch.equal(sample.gt_masks, gt)               # not padded, not resized
        assert sample.batch_input_shape == (4, 8)
    assert [s.img_shape for s in out['data_samples']] == [(3, 5), (4, 3)]


def test_no_divisor_pads_to_the_batch_max_and_stacks_audio():
    out = AVSDataPreprocessor()(batch(with_samples=False), training=False)
    assert out['inputs']['frames'].shape == (2, 2, 3, 4, 5)
    audio = out['inputs']['audio']
    assert audio.shape == (2, 2, 1, 96, 64) and audio.dtype == torch.float32
    assert (audio[1] == 1).all() and out['data_samples'] is None


def test_defaults_are_imagenet_statistics_times_255():
    pre = AVSDataPreprocessor()
    assert torch.allclose(pre.mean.flatten(), torch.tensor(RGB_MEAN) * 255)
    assert torch.allclose(pre.std.flatten(), torch.tensor(RGB_STD) * 255)
