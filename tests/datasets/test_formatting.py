"""PackAVSInputs returns the contract of docs/interfaces.md."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from catravs.datasets import S4Dataset
from catravs.datasets.transforms import PackAVSInputs
from catravs.structures import AVSDataSample

CONTRACT_KEYS = ('clip_id', 'category', 'split', 'num_frames', 'frame_paths', 'mask_paths',
                 'valid_frames', 'annotated_frames', 'wav_path', 'log_mel_path',
                 'audio_silence', 'ori_shape', 'img_shape')


def _results(T: int = 5, h: int = 24, w: int = 32) -> dict:
    rng = np.random.default_rng(0)
    return dict(
        clip_id='c0', category='red_disc', split='train', num_frames=T,
        frame_paths=['f'] * T, mask_paths=['m'] + [None] * (T - 1),
        valid_frames=[True] * T, annotated_frames=[True] + [False] * (T - 1),
        wav_path='a.wav', log_mel_path='a.pkl', audio_silence=False,
        frames=[rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(T)],
        gt_masks=np.concatenate([np.ones((1, h, w), np.uint8),
                                 np.full((T - 1, h, w), 255, np.uint8)]),
        audio=rng.normal(size=(T, 1, 96, 64)).astype(np.float32),
        ori_shape=(h, w), img_shape=(h, w), flip=True, unrelated='x')


def test_pack_shapes_types_and_meta():
    results = _results()
    out = PackAVSInputs()(results)
    frames, audio = out['inputs']['frames'], out['inputs']['audio']
    assert frames.dtype == torch.uint8 and frames.shape == (5, 3, 24, 32)
    assert torch.equal(frames[2].permute(1, 2, 0), torch.from_numpy(results['frames'][2]))
    assert audio.dtype == torch.float32 and audio.shape == (5, 1, 96, 64)
    sample = out['data_samples']
    assert isinstance(sample, AVSDataSample)
    assert sample.gt_masks.dtype == torch.int64 and sample.gt_masks.shape == (5, 24, 32)
    assert sample.gt_masks[1:].eq(255).all() and sample.gt_masks[0].eq(1).all()
    for key in CONTRACT_KEYS + ('flip',):
        assert key in sample.metainfo, key
    assert 'unrelated' not in sample.metainfo
    assert sample.annotated.tolist() == [True, False, False, False, False]


def test_pack_custom_meta_keys_and_no_masks():
    results = _results()
    del results['gt_masks']
    out = PackAVSInputs(meta_keys=('clip_id',))(results)
    assert set(out['data_samples'].metainfo) == {'clip_id'}
    assert 'gt_masks' not in out['data_samples']


def test_pack_errors():
    results = _results()
    results['audio'] = results['audio'][:3]
    with pytest.raises(ValueError, match='audio rows'):
        PackAVSInputs()(results)
    results = _results()
    del results['audio']
    with pytest.raises(KeyError, match='LoadClipAudio'):
        PackAVSInputs()(results)


def test_pipeline_output_carries_every_data_info_key(s4_root, s4_pipeline):
    ds = S4Dataset(data_root=s4_root, split='val', pipeline=s4_pipeline)
    meta = ds[0]['data_samples'].metainfo
    for key in CONTRACT_KEYS + ('audio_clip_id', 'sample_idx'):
        assert key in meta, key
    assert meta['ori_shape'] == meta['img_shape'] == (64, 64)
