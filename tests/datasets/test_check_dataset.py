"""check_dataset finds damaged files and names each; the tool exits non-zero."""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from catravs.datasets import S4Dataset
from catravs.datasets.checks import check_dataset

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'misc' / 'check_dataset.py'


def _tool():
    spec = importlib.util.spec_from_file_location('check_dataset_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clean_synthavs_has_no_problem(s4_root, ms3_root, avss_root):
    for root, subset in ((s4_root, 's4'), (ms3_root, 'ms3'), (avss_root, 'avss')):
        report = check_dataset(root, subset)
        assert report.ok, report.summary()
        assert report.num_clips == (12 if subset != 'avss' else 15)
        assert report.num_files > 5 * report.num_clips
    assert _tool().main([s4_root, '--subset', 's4']) == 0


def test_finds_deleted_frame_truncated_png_and_empty_wav(s4_copy, capsys):
    infos = [S4Dataset(data_root=str(s4_copy), split=s).get_data_info(0)
             for s in ('train', 'val')]
    deleted = infos[0]['frame_paths'][3]
    truncated = infos[1]['frame_paths'][0]
    empty_wav = infos[1]['wav_path']
    os.remove(deleted)
    Path(truncated).write_bytes(Path(truncated).read_bytes()[:100])
    open(empty_wav, 'wb').close()

    report = check_dataset(str(s4_copy), 's4')
    paths = {p.path: p for p in report.problems}
    assert set(paths) == {deleted, truncated, empty_wav}, report.summary()
    assert 'not found' in paths[deleted].message
    assert 'truncated' in paths[truncated].message
    assert 'empty' in paths[empty_wav].message
    assert paths[deleted].clip_id == infos[0]['clip_id']

    assert _tool().main([str(s4_copy), '--subset', 's4']) == 1
    out = capsys.readouterr().out
    assert '3 problem(s)' in out
    for path in (deleted, truncated, empty_wav):
        assert path in out
    # restricting the splits restricts the check
    assert {p.path for p in check_dataset(str(s4_copy), 's4', splits=('train',)).problems} \
        == {deleted}


def test_finds_missing_clip_folder_short_audio_and_bad_pkl(s4_copy, tmp_path):
    import soundfile as sf
    import torch

    from catravs.datasets.file_io import write_tensor_pickle

    test_set = S4Dataset(data_root=str(s4_copy), split='test')
    info, other = test_set.get_data_info(1), test_set.get_data_info(2)
    shutil.rmtree(os.path.dirname(info['frame_paths'][0]))
    sf.write(other['wav_path'], [0.0] * 16000, 16000, subtype='PCM_16')
    write_tensor_pickle(torch.zeros(2, 1, 96, 64), other['log_mel_path'])
    report = check_dataset(str(s4_copy), 's4', splits=('test',))
    msgs = {p.path: p.message for p in report.problems}
    assert 'frame folder not found' in msgs[os.path.dirname(info['frame_paths'][0])]
    assert '1.000 s' in msgs[other['wav_path']]
    assert '2 examples' in msgs[other['log_mel_path']]
    assert len(report.problems) == 3, report.summary()


def test_expected_size(s4_root):
    report = check_dataset(s4_root, 's4', splits=('val',), image_size=(32, 32),
                           check_audio=False)
    frames = [p for p in report.problems if 'frame size (64, 64)' in p.message]
    masks = [p for p in report.problems if 'mask size (64, 64)' in p.message]
    assert len(frames) == 15 and len(masks) == 15 and len(report.problems) == 30


def test_unknown_subset(s4_root):
    with pytest.raises(ValueError, match='subset'):
        check_dataset(s4_root, 'ms4')
