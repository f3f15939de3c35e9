"""MS3 in AVSBench's real folder layout, read through the data config's ``data_prefix``.

AVSBench's "Multi-sources" folder keeps ``ms3_meta_data.csv`` next to ``ms3_data/``, and
the frames have no split folder while masks, wavs and log-mels do::

    ms3_meta_data.csv
    ms3_data/visual_frames/{name}/{name}.mp4_{1..5}.png
    ms3_data/gt_masks/{split}/{name}/{name}_{1..5}.png
    ms3_data/audio_wav/{split}/{name}.wav
    ms3_data/audio_log_mel/{split}/{name}.pkl

A SynthAVS MS3 set is moved into that layout; the dataset that
``configs/_base_/datasets/avsbench_ms3.py`` configures must find every file of every
split at the path written out here by hand, and load a clip through its pipeline.
"""
from __future__ import annotations

import os.path as osp
import shutil

import pytest
from mmengine.config import Config

from catravs.registry import DATASETS
from tests.conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'avsbench_ms3.py')


@pytest.fixture(scope='module')
def real_layout(ms3_root, tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('AVSBench') / 'Multi-sources'
    shutil.copytree(ms3_root, root / 'ms3_data')
    shutil.move(str(root / 'ms3_data' / 'ms3_meta_data.csv'), root / 'ms3_meta_data.csv')
    return str(root)


def expected_paths(root: str, split: str, name: str) -> dict:
    data = osp.join(root, 'ms3_data')
    return dict(
        frame_paths=[osp.join(data, 'visual_frames', name, f'{name}.mp4_{t}.png')
                     for t in range(1, 6)],
        mask_paths=[osp.join(data, 'gt_masks', split, name, f'{name}_{t}.png')
                    for t in range(1, 6)],
        wav_path=osp.join(data, 'audio_wav', split, f'{name}.wav'),
        log_mel_path=osp.join(data, 'audio_log_mel', split, f'{name}.pkl'))


@pytest.mark.parametrize('split', ['train', 'val', 'test'])
def test_config_prefixes_find_every_file_of_the_real_layout(real_layout, split):
    cfg = Config.fromfile(CONFIG)
    dataset_cfg = cfg[f'{split}_dataloader'].dataset
    assert dataset_cfg.split == split
    dataset = DATASETS.build(dict(dataset_cfg, data_root=real_layout))
    assert len(dataset) == (6 if split == 'train' else 3)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        want = expected_paths(real_layout, split, info['clip_id'])
        got = {key: info[key] for key in want}
        assert got == want
        for path in [*got['frame_paths'], *got['mask_paths'], got['wav_path'],
                     got['log_mel_path']]:
            assert osp.isfile(path), path
    out = dataset[0]  # the config's pipeline: frames resized to 448, labels kept
    assert out['inputs']['frames'].shape == (5, 3, 448, 448)
    assert out['data_samples'].gt_masks.shape == (5, 64, 64)
    assert out['data_samples'].annotated_frames == [True] * 5


def test_default_prefixes_on_the_real_layout_name_the_missing_file(real_layout):
    """Without the config's prefixes the files are not where the dataset looks: the error
    names the csv line and the folder it tried."""
    cfg = Config.fromfile(CONFIG).val_dataloader.dataset
    cfg.pop('data_prefix')
    with pytest.raises(FileNotFoundError, match='frame folder not found: .*'
                       + osp.join('Multi-sources', 'visual_frames')):
        DATASETS.build(dict(cfg, data_root=real_layout))[0]
