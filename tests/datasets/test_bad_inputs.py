"""Bad inputs not covered by test_errors.py / test_loading.py / test_audio.py.

Each one either fails with an error that names the file (and clip) or the config
key, or is repaired in a documented way; none passes silently into training.
docs/robustness.md lists every case and the test that covers it.
"""
from __future__ import annotations

import os
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
import soundfile as sf
import torch

from catravs.datasets import DataFileError, S4Dataset
from catravs.datasets.file_io import write_tensor_pickle
from catravs.datasets.transforms import LoadClipAudio, LoadClipFrames
from catravs.registry import DATASETS, MODELS
from tests.conftest import tiny_catr_cfg


def _dataset(root, pipeline) -> S4Dataset:
    return S4Dataset(data_root=str(root), split='val', pipeline=pipeline, test_mode=True)


def _first(root) -> dict:
    return S4Dataset(data_root=str(root), split='val').get_data_info(0)


# --------------------------------------------------------------------------- frames
def test_frame_of_another_size_names_the_file(s4_copy, s4_pipeline):
    info = _first(s4_copy)
    frame = cv2.imread(info['frame_paths'][3])
    cv2.imwrite(info['frame_paths'][3], cv2.resize(frame, (48, 40)))
    with pytest.raises(DataFileError, match=r'has size \(40, 48\)') as err:
        _dataset(s4_copy, s4_pipeline)[0]
    assert info['frame_paths'][3] in str(err.value) and info['clip_id'] in str(err.value)


def test_grayscale_frame_is_read_as_three_channels(s4_copy):
    info = _first(s4_copy)
    gray = cv2.cvtColor(cv2.imread(info['frame_paths'][1]), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(info['frame_paths'][1], gray)
    frames = LoadClipFrames()(info)['frames']
    assert frames[1].shape == frames[0].shape and frames[1].dtype == np.uint8
    assert (frames[1][..., 0] == frames[1][..., 2]).all()


# --------------------------------------------------------------------------- audio
def test_nan_in_log_mel_names_the_file(s4_copy, s4_pipeline):
    info = _first(s4_copy)
    values = torch.zeros(5, 1, 96, 64)
    values[2, 0, 10, 10] = float('nan')
    write_tensor_pickle(values, info['log_mel_path'])
    with pytest.raises(DataFileError, match='NaN or inf') as err:
        _dataset(s4_copy, s4_pipeline)[0]
    assert info['log_mel_path'] in str(err.value) and info['clip_id'] in str(err.value)


def test_wav_with_a_header_but_no_samples_names_the_file(s4_copy):
    info = _first(s4_copy)
    sf.write(info['wav_path'], np.zeros((0, 1), np.int16), 16000, subtype='PCM_16')
    with pytest.raises(DataFileError) as err:
        _dataset(s4_copy, [dict(type='LoadClipAudio', source='wav')])[0]
    assert info['wav_path'] in str(err.value) and info['clip_id'] in str(err.value)


def test_stereo_wav_at_another_rate_is_mixed_and_resampled(tmp_path):
    """A 44.1 kHz stereo wav gives the log-mel of the same sound at 16 kHz mono."""
    seconds, tone = 5.2, 660.0

    def write(name, rate, channels):
        t = np.arange(int(seconds * rate)) / rate
        wave = 0.3 * np.sin(2 * np.pi * tone * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
        sf.write(tmp_path / name, np.repeat(wave[:, None], channels, 1).astype(np.float32), rate)
        return dict(clip_id=name, num_frames=5, valid_frames=[True] * 5,
                    wav_path=str(tmp_path / name), frame_paths=[None] * 5)

    reference = LoadClipAudio(source='wav')(write('mono16k.wav', 16000, 1))['audio']
    stereo = LoadClipAudio(source='wav')(write('stereo44k.wav', 44100, 2))['audio']
    assert stereo.shape == reference.shape == (5, 1, 96, 64) and stereo.dtype == np.float32
    assert np.isfinite(stereo).all()
    # same spectral peak in every frame; log-mel values agree closely
    assert np.array_equal(stereo[:, 0].mean(1).argmax(1), reference[:, 0].mean(1).argmax(1))
    peak = reference[:, 0].mean(1).argmax(1)[0]
    np.testing.assert_allclose(stereo[:, 0, :, peak], reference[:, 0, :, peak], atol=0.05)


# --------------------------------------------------------------------------- configs
def test_unknown_model_part_type_names_the_key_under_a_runner(tmp_path):
    """A Runner builds the model while it starts; the error names ``model.fusion``."""
    from mmengine.runner import Runner
    model = tiny_catr_cfg()
    model['fusion']['type'] = 'NoSuchFusion'
    with pytest.raises(KeyError, match=r"model\.fusion: type 'NoSuchFusion' is not "
                                       r'registered.*CombinatorialDependenceFusion'):
        Runner(model=model, work_dir=str(tmp_path), default_scope='catravs')


@pytest.mark.parametrize('part, wrong', [('fusion', 'd_modle'), ('decoder', 'num_querys'),
                                         ('head', 'mask_dims')])
def test_misspelled_model_argument_is_a_type_error_naming_it(part, wrong):
    cfg = tiny_catr_cfg()
    cfg[part][wrong] = 1
    with pytest.raises(TypeError, match=rf"unexpected keyword argument '{wrong}'") as err:
        MODELS.build(cfg)
    assert cfg[part]['type'] in str(err.value)  # and the class that refused it


def test_misspelled_dataset_argument_is_a_type_error_naming_it(s4_root):
    with pytest.raises(TypeError, match="unexpected keyword argument 'data_rot'"):
        DATASETS.build(dict(type='S4Dataset', data_rot=s4_root, split='val'))


@pytest.mark.parametrize('value', [float('inf'), float('-inf')])
def test_inf_in_log_mel_names_the_file(s4_copy, s4_pipeline, value):
    info = _first(s4_copy)
    values = torch.zeros(5, 1, 96, 64)
    values[4, 0, 0, 0] = value
    write_tensor_pickle(values, info['log_mel_path'])
    with pytest.raises(DataFileError, match='NaN or inf') as err:
        _dataset(s4_copy, s4_pipeline)[0]
    assert info['log_mel_path'] in str(err.value)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null',))


def test_log_mel_that_pickles_code_is_refused_by_the_dataset(s4_copy, s4_pipeline):
    info = _first(s4_copy)
    with open(info['log_mel_path'], 'wb') as f:
        pickle.dump(_RunsCode(), f)
    with pytest.raises(DataFileError, match='cannot be loaded as a tensor') as err:
        _dataset(s4_copy, s4_pipeline)[0]
    assert info['log_mel_path'] in str(err.value) and 'system' in str(err.value)


def test_unknown_dataset_and_transform_types_are_named(s4_root):
    with pytest.raises(KeyError, match='NoSuchDataset is not in the catravs::dataset registry'):
        DATASETS.build(dict(type='NoSuchDataset', data_root=s4_root))
    with pytest.raises(KeyError, match='LoadClipFrame is not in the catravs::transform'):
        S4Dataset(data_root=s4_root, split='val', pipeline=[dict(type='LoadClipFrame')])


def test_misspelled_top_level_config_key_is_refused(tmp_path):
    """MMEngine's Runner ignores unknown keys: ``trian_cfg`` would train with the defaults."""
    import argparse

    from catravs.apis import load_config
    from catravs.apis.runner_setup import runner_config
    from catravs.utils.config_checks import ConfigKeyError
    from tests.conftest import REPO_ROOT

    config = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')
    with pytest.raises(ConfigKeyError, match=r"catr_tiny_synthavs\.py: unknown top-level key "
                                             r"'trian_cfg'; did you mean 'train_cfg'\?"):
        load_config(config, {'trian_cfg.max_epochs': 1})
    args = argparse.Namespace(config=config, cfg_options={'val_evaluater.type': 'X'},
                              launcher='none', work_dir=str(tmp_path), local_rank=0)
    with pytest.raises(ConfigKeyError, match="'val_evaluater'; did you mean 'val_evaluator'"):
        runner_config(args)
    # the config's own variables are not mistaken for misspelt keys
    assert load_config(config).data_root == 'data/synthavs_s4'
