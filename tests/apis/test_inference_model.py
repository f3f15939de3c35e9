"""catravs.apis.inference_model on frames, image files and video files (CPU)."""
from __future__ import annotations

import glob
import os.path as osp

import mmcv
import numpy as np
import pytest
import soundfile as sf
import torch

from catravs.apis import inference_model, init_model
from catravs.datasets.synthavs import make_synthavs
from tests.conftest import REPO_ROOT

from .video_helpers import write_video

av = pytest.importorskip('av')  # the 'video' extra, included in the 'tests' extra
CONFIG = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthavs') / 's4')
    return make_synthavs(root, 's4', num_train=2, num_val=1, num_test=2, image_size=64)


def clip_files(data_root: str, split: str = 'test') -> list[tuple[list[str], str]]:
    """``(frame paths, wav path)`` of every clip of a split."""
    out = []
    for folder in sorted(glob.glob(osp.join(data_root, 'visual_frames', split, '*', '*'))):
        category, name = folder.split(osp.sep)[-2:]
        frames = sorted(glob.glob(osp.join(folder, '*.png')),
                        key=lambda p: int(osp.splitext(p)[0].rsplit('_', 1)[1]))
        out.append((frames, osp.join(data_root, 'audio_wav', split, category, f'{name}.wav')))
    return out


def clip_as_video(frames: list[str], wav: str, path: str) -> str:
    """A lossless 1-frame-per-second video of a clip with its wav as the soundtrack."""
    waveform, rate = sf.read(wav, dtype='float32')
    return write_video(path, [mmcv.imread(p, channel_order='rgb') for p in frames], 1,
                       (waveform, rate), lossless=True)


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return init_model(CONFIG, device='cpu')


def test_paths_arrays_and_video_give_the_same_prediction(model, tiny_data, tmp_path):
    frames, wav = clip_files(tiny_data)[0]
    by_paths = inference_model(model, frames, wav)
    bgr = [mmcv.imread(p) for p in frames]
    by_arrays = inference_model(model, bgr, sf.read(wav, dtype='float32'))
    by_rgb = inference_model(model, [f[..., ::-1] for f in bgr], wav, channel_order='rgb')
    by_video = inference_model(model, clip_as_video(frames, wav, str(tmp_path / 'clip.mkv')))
    assert len(by_paths) == 1
    sample = by_paths[0]
    assert sample.pred_masks.shape == (5, 64, 64) and sample.seg_logits.shape == (5, 64, 64)
    assert set(sample.pred_masks.unique().tolist()) <= {0, 1}
    for other in (by_arrays, by_rgb, by_video):
        torch.testing.assert_close(other[0].seg_logits, sample.seg_logits)
        assert torch.equal(other[0].pred_masks, sample.pred_masks)


def test_frames_are_cut_into_padded_clips_at_the_original_size(model, tiny_data):
    frames, wav = clip_files(tiny_data)[0]
    big = [mmcv.imresize(mmcv.imread(p), (96, 72)) for p in frames]
    waveform, rate = sf.read(wav, dtype='float32')
    seven = big + big[:2]
    samples = inference_model(model, seven, (np.concatenate([waveform, waveform]), rate),
                              batch_size=2)
    assert len(samples) == 2
    assert samples[1].metainfo['valid_frames'] == [True, True, False, False, False]
    for s in samples:
        assert s.pred_masks.shape == (5, 72, 96) and s.pred_masks.device.type == 'cpu'
    # clip 1 is frames 5, 6 (= frames 0, 1) with seconds 5, 6 of the audio (= seconds 0, 1)
    alone = inference_model(model, big[:2], (waveform[:2 * rate], rate))[0]
    torch.testing.assert_close(samples[1].seg_logits, alone.seg_logits)


def test_silence_changes_the_prediction(model, tiny_data):
    frames, wav = clip_files(tiny_data)[0]
    waveform, rate = sf.read(wav, dtype='float32')
    with_sound = inference_model(model, frames, (waveform, rate))[0].seg_logits
    silent = inference_model(model, frames, (np.zeros_like(waveform), rate))[0].seg_logits
    assert not torch.allclose(with_sound, silent)


def test_bad_inputs(model, tiny_data, tmp_path):
    frames, wav = clip_files(tiny_data)[0]
    with pytest.raises(ValueError, match='need audio'):
        inference_model(model, frames)
    with pytest.raises(TypeError, match='not a mix'):
        inference_model(model, [frames[0], mmcv.imread(frames[1])], wav)
    with pytest.raises(FileNotFoundError, match='nowhere.png'):
        inference_model(model, [str(tmp_path / 'nowhere.png')], wav)
    with pytest.raises(FileNotFoundError, match='nowhere.mp4'):
        inference_model(model, str(tmp_path / 'nowhere.mp4'))
    silent = write_video(str(tmp_path / 'silent.mkv'), [mmcv.imread(frames[0])] * 2, 1,
                         lossless=True)
    from catravs.apis.video_io import NoSoundtrackError
    with pytest.raises(NoSoundtrackError, match='silent.mkv'):
        inference_model(model, silent)
    assert inference_model(model, silent, wav)[0].pred_masks.shape == (5, 64, 64)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_cpu(model, tiny_data):
    frames, wav = clip_files(tiny_data)[0]
    cpu = inference_model(model, frames, wav)[0]
    gpu_model = init_model(CONFIG, device='cuda')
    gpu_model.load_state_dict(model.state_dict())
    gpu = inference_model(gpu_model, frames, wav)[0]
    assert gpu.pred_masks.device.type == 'cpu'
    torch.testing.assert_close(gpu.seg_logits, cpu.seg_logits, atol=1e-3, rtol=1e-3)


def test_semantic_model_gives_class_maps(tiny_data, tmp_path):
    config = tmp_path / 'semantic.py'
    config.write_text(f"_base_ = [{CONFIG!r}]\nmodel = dict(task='semantic', num_classes=3)\n")
    frames, wav = clip_files(tiny_data)[0]
    sample = inference_model(init_model(str(config)), frames, wav)[0]
    assert sample.pred_masks.shape == (5, 64, 64) and sample.pred_masks.dtype == torch.long
    assert sample.seg_logits.shape == (5, 3, 64, 64)
    assert torch.equal(sample.pred_masks, sample.seg_logits.argmax(1))
