"""Score files (catravs.evaluation.clip_scores) and PredictionWriterHook(score_dir=...)."""
from __future__ import annotations

import os.path as osp

import numpy as np
import pytest
import torch

from catravs.engine.hooks import PredictionWriterHook
from catravs.evaluation.clip_scores import (
    clip_score_arrays,
    load_score_dir,
    load_score_file,
    save_score_file,
)
from catravs.evaluation.functional import binary_fscore, binary_jaccard
from tests.evaluation.clip_samples import binary_clip, semantic_clip, to_data_sample


def write(folder, clips) -> list[str]:
    paths = []
    for c in clips:
        path = osp.join(folder, f"{c['sample_idx']:06d}.npz")
        save_score_file(path, clip_score_arrays(c['seg_logits'], c['gt_masks'], c))
        paths.append(path)
    return paths


def test_binary_round_trip_keeps_what_the_metrics_see(tmp_path):
    clip = binary_clip(3, 7, annotated=(True, True, False, True, True), empty_frames=(1,),
                       size=(40, 36))
    record = load_score_file(write(str(tmp_path), [clip])[0])
    assert record['task'] == 'binary' and record['logits'].dtype == np.float16
    assert record['clip_id'] == 'clip7' and record['sample_idx'] == 7
    assert record['category'] == 'dog'
    assert record['annotated_frames'].tolist() == [True, True, False, True, True]
    assert record['valid_frames'].all()
    np.testing.assert_array_equal(record['gt'], clip['gt_masks'].numpy())
    keep = torch.tensor([0, 1, 3, 4])
    saved = torch.from_numpy(record['logits'].astype(np.float32))[keep]
    logits, gt = clip['seg_logits'][keep], clip['gt_masks'][keep]
    # float16 keeps every logit's sign here, so J is the float32 J exactly
    assert torch.equal(binary_jaccard(saved, gt), binary_jaccard(logits, gt))
    assert binary_fscore(saved, gt) == pytest.approx(binary_fscore(logits, gt), abs=5e-4)


def test_semantic_round_trip_keeps_the_class_map_and_padding(tmp_path):
    clip = semantic_clip(2, 4, subset='v1m', num_classes=6)
    record = load_score_file(write(str(tmp_path), [clip])[0])
    assert record['task'] == 'semantic' and record['num_classes'] == 6
    assert record['labels'].dtype == np.uint8 and record['labels'].shape == (10, 9, 8)
    # every frame, the padding ones included (the released AVSS test scores them)
    np.testing.assert_array_equal(record['labels'], clip['seg_logits'].argmax(1).numpy())
    assert record['valid_frames'].tolist() == [True] * 5 + [False] * 5


def test_load_score_dir_orders_and_checks(tmp_path):
    folder = str(tmp_path / 'b')
    write(folder, [binary_clip(i, idx) for i, idx in enumerate([5, 1, 3])])
    assert [r['sample_idx'] for r in load_score_dir(folder)] == [1, 3, 5]
    write(folder, [semantic_clip(0, 9)])
    with pytest.raises(ValueError, match='mixes'):
        load_score_dir(folder)
    with pytest.raises(FileNotFoundError, match='score folder not found'):
        load_score_dir(str(tmp_path / 'missing'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='--score-dir'):
        load_score_dir(str(tmp_path / 'empty'))
    bad = tmp_path / 'bad.npz'
    np.savez(bad, version=np.int64(99))
    with pytest.raises(ValueError, match='bad.npz.*version 99'):
        load_score_file(str(bad))
    np.savez(bad, version=np.int64(1), task=np.str_('binary'), gt=np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"bad.npz.*missing \['annotated_frames'"):
        load_score_file(str(bad))


def test_prediction_writer_hook_writes_one_file_per_clip(tmp_path):
    hook = PredictionWriterHook(score_dir=str(tmp_path / 'scores'))
    clips = [binary_clip(i, i) for i in range(3)]
    hook.after_test_iter(None, 0, outputs=[to_data_sample(c) for c in clips[:2]])
    hook.after_test_iter(None, 1, outputs=[to_data_sample(clips[2])])
    records = load_score_dir(str(tmp_path / 'scores'))
    assert hook.num_scored == 3 and [r['clip_id'] for r in records] == ['clip0', 'clip1', 'clip2']
    np.testing.assert_array_equal(records[1]['logits'],
                                  clips[1]['seg_logits'].numpy().astype(np.float16))
    sample = to_data_sample(clips[0])
    del sample.gt_masks
    with pytest.raises(KeyError, match="clip0' has no gt_masks"):
        hook.after_test_iter(None, 2, outputs=[sample])
