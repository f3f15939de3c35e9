"""The dataset classes load SynthAVS of their layout with the right shapes and flags."""
from __future__ import annotations

import os.path as osp
import shutil

import pytest
import torch

from catravs.datasets import AVSSDataset, MS3Dataset, S4Dataset, load_label2idx
from catravs.registry import DATASETS
from catravs.structures import AVSDataSample


def test_s4_train_clip(s4_root, s4_pipeline):
    ds = S4Dataset(data_root=s4_root, split='train', pipeline=s4_pipeline)
    assert len(ds) == 6
    info = ds.get_data_info(0)
    assert info['annotated_frames'] == [True, False, False, False, False]
    assert info['valid_frames'] == [True] * 5
    assert info['mask_paths'][1:] == [None] * 4
    assert info['frame_paths'][2] == osp.join(
        s4_root, 'visual_frames', 'train', info['category'], info['clip_id'],
        f"{info['clip_id']}_3.png")
    out = ds[0]
    frames, audio = out['inputs']['frames'], out['inputs']['audio']
    sample = out['data_samples']
    assert isinstance(sample, AVSDataSample)
    assert frames.shape == (5, 3, 64, 64) and frames.dtype == torch.uint8
    assert audio.shape == (5, 1, 96, 64) and audio.dtype == torch.float32
    assert sample.gt_masks.shape == (5, 64, 64) and sample.gt_masks.dtype == torch.int64
    assert set(sample.gt_masks[0].unique().tolist()) == {0, 1}
    assert (sample.gt_masks[1:] == 255).all()
    assert sample.annotated.tolist() == [True, False, False, False, False]
    assert sample.clip_id == info['clip_id'] and sample.split == 'train'


def test_s4_val_all_annotated_and_built_from_registry(s4_root, s4_pipeline):
    ds = DATASETS.build(dict(type='S4Dataset', data_root=s4_root, split='val',
                             pipeline=s4_pipeline, test_mode=True))
    assert isinstance(ds, S4Dataset) and len(ds) == 3
    sample = ds[1]['data_samples']
    assert sample.annotated_frames == [True] * 5
    assert set(sample.gt_masks.unique().tolist()) <= {0, 1}
    assert ds.metainfo['classes'] == ('background', 'sounding')


def test_s4_padding_to_more_frames(s4_root, s4_pipeline):
    ds = S4Dataset(data_root=s4_root, split='test', pipeline=s4_pipeline, num_frames=7)
    out = ds[0]
    sample = out['data_samples']
    assert sample.valid_frames == [True] * 5 + [False] * 2
    assert out['inputs']['frames'].shape[0] == 7
    assert (out['inputs']['frames'][5:] == 0).all()              # black padding
    assert (sample.gt_masks[5:] == 255).all()
    assert torch.equal(out['inputs']['audio'][5], out['inputs']['audio'][6])


def test_s4_real_avsbench_folder_names(s4_root, tmp_path, s4_pipeline):
    """AVSBench keeps the csv next to s4_data/: data_prefix points at the folders."""
    root = tmp_path / 'Single-source'
    shutil.copytree(s4_root, root / 's4_data')
    shutil.move(str(root / 's4_data' / 's4_meta_data.csv'), root / 's4_meta_data.csv')
    ds = S4Dataset(data_root=str(root), split='train', pipeline=s4_pipeline,
                   data_prefix=dict(frames='s4_data/visual_frames', masks='s4_data/gt_masks',
                                    wav='s4_data/audio_wav', log_mel='s4_data/audio_log_mel'))
    assert ds[0]['inputs']['frames'].shape == (5, 3, 64, 64)
    with pytest.raises(KeyError, match='unknown data_prefix'):
        S4Dataset(data_root=str(root), data_prefix=dict(img='x'))


def test_ms3_all_annotated(ms3_root, s4_pipeline):
    ds = MS3Dataset(data_root=ms3_root, split='train', pipeline=s4_pipeline)
    assert len(ds) == 6
    out = ds[2]
    sample = out['data_samples']
    assert sample.category == ''
    assert sample.annotated_frames == [True] * 5
    assert set(sample.gt_masks.unique().tolist()) == {0, 1}
    assert out['inputs']['frames'].shape == (5, 3, 64, 64)
    assert sample.frame_paths[0].endswith(f'{sample.clip_id}.mp4_1.png')


def test_avss_v1s_padded_to_10(avss_root, avss_pipeline):
    ds = AVSSDataset(data_root=avss_root, split='train', pipeline=avss_pipeline,
                     labels=('v1s',))
    assert len(ds) >= 1
    out = ds[0]
    sample = out['data_samples']
    assert sample.category == 'v1s'
    assert sample.valid_frames == [True] * 5 + [False] * 5
    assert sample.annotated_frames == [True] + [False] * 9
    assert out['inputs']['frames'].shape == (10, 3, 64, 64)
    assert out['inputs']['audio'].shape == (10, 1, 96, 64)
    assert sample.gt_masks.shape == (10, 64, 64)
    assert (sample.gt_masks[1:] == 255).all()
    num_classes = len(ds.metainfo['classes'])
    assert 0 < sample.gt_masks[0].max() < num_classes


def test_avss_labels_and_classes(avss_root, avss_pipeline):
    ds = AVSSDataset(data_root=avss_root, split='train', pipeline=avss_pipeline)
    cats = {ds.get_data_info(i)['category'] for i in range(len(ds))}
    assert cats == {'v1s', 'v1m', 'v2'}
    assert ds.metainfo['classes'][0] == 'background'
    assert ds.metainfo['classes'] == load_label2idx(osp.join(avss_root, 'label2idx.json'))
    assert ds.metainfo['palette'][1] == [128, 0, 0]
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        n = 10 if info['category'] == 'v2' else 5
        assert info['valid_frames'] == [True] * n + [False] * (10 - n)
        if info['category'] != 'v1s':
            assert info['annotated_frames'] == info['valid_frames']
        assert info['log_mel_path'] is None
    v2 = AVSSDataset(data_root=avss_root, split='train', labels=('v2',))
    out = AVSSDataset(data_root=avss_root, split='train', labels=('v2',),
                      pipeline=avss_pipeline)[0]
    assert len(v2) >= 1 and out['data_samples'].annotated_frames == [True] * 10
    with pytest.raises(ValueError, match='labels'):
        AVSSDataset(data_root=avss_root, labels=('v3',))


def test_avss_val_v1s_has_all_labels(avss_root):
    ds = AVSSDataset(data_root=avss_root, split='val')
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['annotated_frames'] == info['valid_frames']


def test_bad_arguments(s4_root):
    with pytest.raises(ValueError, match='split'):
        S4Dataset(data_root=s4_root, split='training')
    with pytest.raises(ValueError, match='audio_override'):
        S4Dataset(data_root=s4_root, audio_override='noise')
    with pytest.raises(FileNotFoundError, match='nothing.csv'):
        S4Dataset(data_root=s4_root, ann_file='nothing.csv')


def test_runner_builds_a_dataloader(s4_root, s4_pipeline):
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    cfg = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
               collate_fn=dict(type='pseudo_collate'),
               dataset=dict(type='S4Dataset', data_root=s4_root, split='train',
                            pipeline=s4_pipeline))
    with DefaultScope.overwrite_default_scope('catravs'):
        loader = Runner.build_dataloader(cfg, seed=0)
        batch = next(iter(loader))
    assert len(batch['inputs']['frames']) == 2 and len(batch['data_samples']) == 2
    assert batch['inputs']['frames'][0].shape == (5, 3, 64, 64)
    assert batch['inputs']['audio'][1].shape == (5, 1, 96, 64)
    assert batch['data_samples'][1].gt_masks.shape == (5, 64, 64)
