"""Bad inputs raise errors that name the file (and the clip)."""
from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from catravs.datasets import AVSSDataset, DataFileError, S4Dataset
from catravs.datasets.file_io import load_tensor_pickle, write_tensor_pickle


def _dataset(root, pipeline, **kwargs) -> S4Dataset:
    return S4Dataset(data_root=str(root), split='val', pipeline=pipeline, test_mode=True,
                     **kwargs)


def _first(root) -> dict:
    return S4Dataset(data_root=str(root), split='val').get_data_info(0)


def test_missing_frame(s4_copy, s4_pipeline):
    info = _first(s4_copy)
    os.remove(info['frame_paths'][2])
    with pytest.raises(FileNotFoundError) as err:
        _dataset(s4_copy, s4_pipeline)[0]
    assert info['frame_paths'][2] in str(err.value) and info['clip_id'] in str(err.value)


def test_truncated_png(s4_copy, s4_pipeline):
    info = _first(s4_copy)
    path = Path(info['frame_paths'][1])
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataFileError, match='truncated') as err:
        _dataset(s4_copy, s4_pipeline)[0]
    assert str(path) in str(err.value) and info['clip_id'] in str(err.value)


def test_garbage_png(s4_copy, s4_pipeline):
    info = _first(s4_copy)
    Path(info['frame_paths'][0]).write_bytes(b'not an image at all')
    with pytest.raises(DataFileError, match='cannot be decoded') as err:
        _dataset(s4_copy, s4_pipeline)[0]
    assert info['frame_paths'][0] in str(err.value)


def test_zero_length_wav(s4_copy):
    info = _first(s4_copy)
    open(info['wav_path'], 'wb').close()
    pipeline = [dict(type='LoadClipAudio', source='wav')]
    with pytest.raises(DataFileError, match='empty') as err:
        _dataset(s4_copy, pipeline)[0]
    assert info['wav_path'] in str(err.value) and info['clip_id'] in str(err.value)


def test_unreadable_wav(s4_copy):
    info = _first(s4_copy)
    Path(info['wav_path']).write_bytes(b'RIFF1234WAVEjunkjunkjunk')
    with pytest.raises(DataFileError) as err:
        _dataset(s4_copy, [dict(type='LoadClipAudio', source='wav')])[0]
    assert info['wav_path'] in str(err.value)


def test_wrong_shape_pkl(s4_copy, s4_pipeline):
    info = _first(s4_copy)
    write_tensor_pickle(torch.zeros(5, 96, 64), info['log_mel_path'])
    with pytest.raises(DataFileError, match=r'shape \(5, 96, 64\)') as err:
        _dataset(s4_copy, s4_pipeline)[0]
    assert info['log_mel_path'] in str(err.value) and info['clip_id'] in str(err.value)


def test_bad_mask_values(s4_copy, s4_pipeline):
    info = _first(s4_copy)
    mask = cv2.imread(info['mask_paths'][3], cv2.IMREAD_UNCHANGED)
    mask[:4, :4] = 128
    cv2.imwrite(info['mask_paths'][3], mask)
    with pytest.raises(DataFileError, match='not binary') as err:
        _dataset(s4_copy, s4_pipeline)[0]
    assert info['mask_paths'][3] in str(err.value) and '128' in str(err.value)
    # non-strict: > 0 is foreground
    out = _dataset(s4_copy, [dict(type='LoadClipFrames'),
                             dict(type='LoadClipMasks', strict=False)])[0]
    assert out['gt_masks'][3][:4, :4].tolist() == [[1] * 4] * 4


def test_mask_size_differs_from_frames(s4_copy, s4_pipeline):
    info = _first(s4_copy)
    cv2.imwrite(info['mask_paths'][0], np.zeros((32, 32), np.uint8))
    with pytest.raises(DataFileError, match='size') as err:
        _dataset(s4_copy, s4_pipeline)[0]
    assert info['mask_paths'][0] in str(err.value)


def test_csv_row_pointing_to_nothing(s4_copy, s4_pipeline):
    with open(s4_copy / 's4_meta_data.csv', 'a') as f:
        f.write('ghost_clip,0,red_disc,val\n')
    with pytest.raises(FileNotFoundError) as err:
        _dataset(s4_copy, s4_pipeline)
    msg = str(err.value)
    assert 's4_meta_data.csv line' in msg and 'ghost_clip' in msg
    assert os.path.join('visual_frames', 'val', 'red_disc', 'ghost_clip') in msg
    # without the load-time check, loading the clip names the missing frame
    ds = _dataset(s4_copy, s4_pipeline, check_files=False)
    ghost = [i for i in range(len(ds)) if ds.get_data_info(i)['clip_id'] == 'ghost_clip'][0]
    with pytest.raises(FileNotFoundError, match='ghost_clip_1.png'):
        ds[ghost]


def test_avss_unknown_colour(avss_root, tmp_path, avss_pipeline):
    root = tmp_path / 'avss'
    shutil.copytree(avss_root, root)
    info = AVSSDataset(data_root=str(root), split='val').get_data_info(0)
    label = cv2.imread(info['mask_paths'][0])
    label[:3, :3] = (7, 77, 177)
    cv2.imwrite(info['mask_paths'][0], label)
    ds = AVSSDataset(data_root=str(root), split='val', pipeline=avss_pipeline, test_mode=True)
    with pytest.raises(DataFileError, match='palette') as err:
        ds[0]
    assert info['mask_paths'][0] in str(err.value) and info['clip_id'] in str(err.value)


def test_avss_unknown_label_row(avss_root, tmp_path):
    root = tmp_path / 'avss'
    shutil.copytree(avss_root, root)
    with open(root / 'metadata.csv', 'a') as f:
        f.write('x,x_0,0,0,a,train,v3\n')
    with pytest.raises(ValueError, match="unknown label 'v3'"):
        AVSSDataset(data_root=str(root), split='train')


def test_pickle_loader_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return os.system, ('echo pwned',)

    with pytest.raises(pickle.UnpicklingError, match='refusing'):
        load_tensor_pickle(pickle.dumps(Evil()))


def test_pickle_loader_reads_torch_pickles_and_saves(tmp_path):
    tensor = torch.randn(5, 1, 96, 64)
    assert torch.equal(load_tensor_pickle(pickle.dumps(tensor)), tensor)   # AVSBench's format
    path = tmp_path / 't.pt'
    torch.save(tensor, path)
    assert torch.equal(load_tensor_pickle(path.read_bytes()), tensor)
    write_tensor_pickle(tensor, tmp_path / 'w.pkl')
    with open(tmp_path / 'w.pkl', 'rb') as f:
        assert torch.equal(pickle.load(f), tensor)                         # plain pickle


def test_truncated_jpeg(avss_root, tmp_path, avss_pipeline):
    root = tmp_path / 'avss'
    shutil.copytree(avss_root, root)
    info = AVSSDataset(data_root=str(root), split='test').get_data_info(0)
    path = Path(info['frame_paths'][4])
    path.write_bytes(path.read_bytes()[:-400])
    ds = AVSSDataset(data_root=str(root), split='test', pipeline=avss_pipeline, test_mode=True)
    with pytest.raises(DataFileError, match='truncated JPEG') as err:
        ds[0]
    assert str(path) in str(err.value)
