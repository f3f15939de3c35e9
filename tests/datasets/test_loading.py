"""Loading transforms: frames, masks (binary and palette) and audio from log-mel or wav."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from catravs.datasets import AVSSDataset, S4Dataset
from catravs.datasets.file_io import write_tensor_pickle
from catravs.datasets.transforms import (
    LoadClipAudio,
    LoadClipFrames,
    LoadClipMasks,
    silence_log_mel,
)


def _info(root: str, split: str = 'val', index: int = 0) -> dict:
    return S4Dataset(data_root=root, split=split).get_data_info(index)


def test_frames_are_bgr_and_padding_black(s4_root):
    info = _info(s4_root)
    info['frame_paths'] = info['frame_paths'][:3] + [None, None]
    out = LoadClipFrames()(info)
    assert len(out['frames']) == 5 and out['ori_shape'] == (64, 64)
    assert out['frames'][0].dtype == np.uint8 and out['frames'][0].shape == (64, 64, 3)
    assert not out['frames'][4].any() and out['frames'][2].any()


def test_binary_masks(s4_root):
    info = LoadClipFrames()(_info(s4_root))
    info['annotated_frames'] = [True, True, False, True, True]
    out = LoadClipMasks()(info)
    masks = out['gt_masks']
    assert masks.shape == (5, 64, 64) and masks.dtype == np.uint8
    assert set(np.unique(masks[0]).tolist()) == {0, 1}
    assert (masks[2] == 255).all()


def test_semantic_masks_decode_palette(avss_root):
    ds = AVSSDataset(data_root=avss_root, split='val')
    info = LoadClipFrames()(ds.get_data_info(0))
    out = LoadClipMasks(mask_type='semantic', num_classes=len(ds.metainfo['classes']))(info)
    real = np.asarray(info['annotated_frames'])
    classes = set(np.unique(out['gt_masks'][real]).tolist())
    assert 0 in classes and classes - {0} and max(classes) < len(ds.metainfo['classes'])
    assert (out['gt_masks'][~real] == 255).all()


def test_log_mel_and_wav_clip_mode_agree(s4_root):
    """SynthAVS .pkl files hold AVSBench's whole-clip examples of the wav."""
    info = _info(s4_root)
    from_pkl = LoadClipAudio(source='log_mel')(dict(info))['audio']
    from_wav = LoadClipAudio(source='wav', wav_slicing='clip')(dict(info))['audio']
    per_second = LoadClipAudio(source='wav')(dict(info))['audio']
    assert from_pkl.shape == from_wav.shape == per_second.shape == (5, 1, 96, 64)
    np.testing.assert_allclose(from_pkl, from_wav, atol=1e-4)
    # per-second slices see the same burst: the same spectral peak per frame
    assert np.array_equal(from_pkl[:, 0].mean(1).argmax(1), per_second[:, 0].mean(1).argmax(1))
    np.testing.assert_allclose(per_second[0], from_pkl[0], atol=1e-4)   # second 0 identical


def test_padding_frames_get_silence(s4_root, mm_messages):
    info = _info(s4_root)
    info.update(num_frames=7, valid_frames=[True] * 5 + [False] * 2)
    for source in ('log_mel', 'wav'):
        audio = LoadClipAudio(source=source)(dict(info))['audio']
        assert audio.shape == (7, 1, 96, 64)
        np.testing.assert_allclose(audio[5:], np.broadcast_to(silence_log_mel(), (2, 1, 96, 64)))
        assert not np.allclose(audio[4], silence_log_mel())
    assert not mm_messages              # padding frames are expected to lack audio


def test_short_pkl_is_padded_with_warning(s4_root, tmp_path, mm_messages):
    info = _info(s4_root)
    path = tmp_path / 'short.pkl'
    write_tensor_pickle(torch.zeros(3, 1, 96, 64), path)
    info['log_mel_path'] = str(path)
    audio = LoadClipAudio()(info)['audio']
    assert any('padded with silence' in m and 'short.pkl' in m for m in mm_messages)
    assert (audio[:3] == 0).all()
    np.testing.assert_allclose(audio[3:], np.broadcast_to(silence_log_mel(), (2, 1, 96, 64)))


def test_short_wav_is_padded_with_warning(tmp_path, mm_messages):
    path = tmp_path / 'short.wav'
    t = np.arange(int(2.5 * 8000)) / 8000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000)  # 8 kHz
    info = dict(clip_id='short', num_frames=5, valid_frames=[True] * 5, wav_path=str(path),
                frame_paths=[None] * 5)
    audio = LoadClipAudio(source='wav')(info)['audio']
    assert any('padded with silence' in m and 'short.wav' in m for m in mm_messages)
    assert audio.shape == (5, 1, 96, 64)
    assert not np.allclose(audio[1], silence_log_mel())                 # 1.0-1.975 s: tone
    np.testing.assert_allclose(audio[3:], np.broadcast_to(silence_log_mel(), (2, 1, 96, 64)),
                               atol=1e-5)


def test_log_mel_source_without_pkl_is_an_error(avss_root):
    info = AVSSDataset(data_root=avss_root, split='val').get_data_info(0)
    with pytest.raises(FileNotFoundError, match="source='wav'"):
        LoadClipAudio(source='log_mel')(info)


def test_bad_arguments():
    with pytest.raises(ValueError):
        LoadClipAudio(source='mp3')
    with pytest.raises(ValueError):
        LoadClipMasks(mask_type='instance')
