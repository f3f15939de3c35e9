"""AVSBinaryMetric end to end: records per clip, reduction, frame selection."""
import random

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

import catravs.evaluation.metrics.avs_binary_metric as binary_module
from catravs.evaluation import AVSBinaryMetric
from catravs.evaluation.functional import binary_fscore, binary_jaccard
from catravs.registry import METRICS

from .clip_samples import binary_clip, run_metric, scored, to_data_sample

S4_TRAIN_LIKE = (True, False, False, False, False)


def make_clips():
    clips = [binary_clip(10 + i, i, category='dog' if i % 2 else 'cat') for i in range(6)]
    clips[2] = binary_clip(12, 2, category='cat', empty_frames=range(5))    # all gt empty
    clips[3] = binary_clip(13, 3, category='dog', empty_frames=(1, 4))
    clips[4] = binary_clip(14, 4, annotated=S4_TRAIN_LIKE, category='cat')
    clips.append(binary_clip(16, 6, valid=(True, True, True, False, False), category='dog'))
    return clips


def frames_of(clips):
    logits = torch.cat([c['seg_logits'][scored(c)] for c in clips])
    gt = torch.cat([c['gt_masks'][scored(c)] for c in clips])
    return logits, gt


def expected(clips, fscore_batch_size):
    logits, gt = frames_of(clips)
    groups = [clips[i:i + fscore_batch_size] for i in range(0, len(clips), fscore_batch_size)]
    return {
        'mIoU': binary_jaccard(logits, gt).double().mean().item(),
        'F-score': float(np.mean([binary_fscore(*frames_of(g)) for g in groups])),
        'F-score(dataset)': binary_fscore(logits, gt),
    }


@pytest.mark.parametrize('fscore_batch_size', [1, 2, 3])
def test_values_match_functional(fscore_batch_size):
    clips = make_clips()
    got = run_metric(AVSBinaryMetric(fscore_batch_size=fscore_batch_size), clips, batch_size=3)
    want = expected(clips, fscore_batch_size)
    assert set(got) == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-6), key
        assert 0.0 <= got[key] <= 1.0


def test_process_batching_and_result_order_do_not_matter():
    clips = make_clips()
    metric = AVSBinaryMetric(fscore_batch_size=2)
    reference = run_metric(metric, clips, batch_size=1)
    for batch_size in (2, 4, len(clips)):
        assert run_metric(metric, clips, batch_size) == pytest.approx(reference, abs=1e-12)
    shuffled = clips[:]
    random.Random(0).shuffle(shuffled)      # e.g. gathered from several ranks
    assert run_metric(metric, shuffled, batch_size=3) == pytest.approx(reference, abs=1e-12)


def test_fscore_the_authors_way_depends_on_grouping():
    perfect = binary_clip(1, 0)
    perfect['seg_logits'] = 20.0 * (2 * perfect['gt_masks'] - 1).float()
    empty = binary_clip(2, 1, empty_frames=range(5))
    clips = [perfect, empty]
    per_clip = run_metric(AVSBinaryMetric(fscore_batch_size=1), clips, batch_size=2)
    assert per_clip['F-score'] == pytest.approx(0.5)          # the empty clip scores 0
    assert per_clip['F-score(dataset)'] == pytest.approx(1.0)  # empty-gt frames are skipped
    paired = run_metric(AVSBinaryMetric(fscore_batch_size=2), clips, batch_size=1)
    assert paired['F-score'] == pytest.approx(1.0)


def spoil(clip, frame):
    """Make the prediction on one frame as wrong as possible (and change its label)."""
    clip['seg_logits'][frame] = -clip['seg_logits'][frame] + 5.0
    clip['gt_masks'][frame] = torch.where(clip['gt_masks'][frame] == 255, 255, 1)


def test_unannotated_and_padding_frames_are_ignored():
    clips = make_clips()
    metric = AVSBinaryMetric(fscore_batch_size=2)
    before = run_metric(metric, clips, batch_size=3)
    spoil(clips[4], 3)   # unannotated frame of an S4-train-like clip
    spoil(clips[6], 4)   # padding frame
    assert run_metric(metric, clips, batch_size=3) == before
    # a clip without any scored frame is left out (it does not shift the F groups)
    with_unlabelled = clips[:3] + [binary_clip(30, 3, annotated=(False,) * 5)] + clips[3:]
    for idx, clip in enumerate(with_unlabelled):
        clip['sample_idx'] = idx
    assert run_metric(metric, with_unlabelled, batch_size=3) == before
    spoil(clips[4], 0)   # the annotated frame does count
    after = run_metric(metric, clips, batch_size=3)
    assert after['mIoU'] != pytest.approx(before['mIoU'], abs=1e-6)


def test_per_category_table_and_results(monkeypatch):
    logged = []
    monkeypatch.setattr(binary_module, 'print_log', lambda msg, **kw: logged.append(msg))
    clips = make_clips()
    got = run_metric(AVSBinaryMetric(per_category_results=True), clips, batch_size=4)
    dogs = [c for c in clips if c['category'] == 'dog']
    logits, gt = frames_of(dogs)
    assert got['mIoU.dog'] == pytest.approx(binary_jaccard(logits, gt).double().mean().item())
    assert got['F-score.dog'] == pytest.approx(binary_fscore(logits, gt))
    assert {'mIoU.cat', 'F-score.cat'} <= set(got)
    assert len(logged) == 1 and 'dog' in logged[0] and 'cat' in logged[0]


def test_no_category_no_table(monkeypatch):
    logged = []
    monkeypatch.setattr(binary_module, 'print_log', lambda msg, **kw: logged.append(msg))
    clips = [binary_clip(i, i, category='') for i in range(3)]
    got = run_metric(AVSBinaryMetric(per_category_results=True), clips, batch_size=2)
    assert set(got) == {'mIoU', 'F-score', 'F-score(dataset)'} and not logged


def test_through_mmengine_evaluator_with_data_samples():
    clips = make_clips()
    evaluator = Evaluator(METRICS.build(dict(type='AVSBinaryMetric', fscore_batch_size=2)))
    for i in range(0, len(clips), 3):
        evaluator.process([to_data_sample(c) for c in clips[i:i + 3]])
    got = evaluator.evaluate(len(clips))
    want = expected(clips, 2)
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-6)


def test_clear_errors():
    clip = binary_clip(0, 0)
    del clip['annotated_frames']
    with pytest.raises(KeyError, match='annotated_frames'):
        AVSBinaryMetric().process(None, [clip])
    clip = binary_clip(0, 0)
    del clip['seg_logits']
    with pytest.raises(KeyError, match='seg_logits'):
        AVSBinaryMetric().process(None, [clip])
    with pytest.raises(ValueError):
        AVSBinaryMetric(fscore_batch_size=0)
