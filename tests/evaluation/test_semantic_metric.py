"""AVSSemanticMetric end to end: sums per clip, padding convention, frame selection."""
import random

import pytest
import torch
from mmengine.evaluator import Evaluator

import catravs.evaluation.metrics.avs_semantic_metric as semantic_module
from catravs.evaluation import AVSSemanticMetric
from catravs.evaluation.functional import semantic_iou_fscore, semantic_miou_fscore

from .clip_samples import run_metric, scored, semantic_clip, to_data_sample

K1 = 6
CLASSES = ['background'] + [f'c{i}' for i in range(1, K1)]


def make_clips():
    subsets = ['v2', 'v1m', 'v1s', 'v2', 'v1m', 'v1s', 'v2']
    clips = [semantic_clip(20 + i, i, subset=s, num_classes=K1) for i, s in enumerate(subsets)]
    # the model predicts a foreground class on every padding frame
    for clip in clips:
        for f, valid in enumerate(clip['valid_frames']):
            if not valid:
                clip['seg_logits'][f, 1 + f % (K1 - 1)] += 10.0
    return clips


def expected(clips, score_padding_frames=False):
    """The keys of one convention from catravs' functional (test_functional_semantic.py
    checks the functional against the loop-based reference in avsbench_reference.py, and
    test_semantic_conventions.py checks the metric's two conventions against it)."""
    scores, labels = [], []
    for clip in clips:
        gt = clip['gt_masks'].clone()
        use = scored(clip)
        if score_padding_frames:
            padding = ~torch.tensor(clip['valid_frames'])
            gt[padding] = 0
            use |= padding
        scores.append(clip['seg_logits'][use])
        labels.append(gt[use])
    sums = semantic_iou_fscore(torch.cat(scores), torch.cat(labels))
    miou, fscore = semantic_miou_fscore(*sums)
    return {'mIoU': miou, 'F-score': fscore}


AVS = AVSSemanticMetric.AVSBENCH_SUFFIX


def both(clips):
    """Both conventions' keys, as the metric names them."""
    plain, padded = expected(clips, False), expected(clips, True)
    return {**plain, **{k + AVS: v for k, v in padded.items()}}


def test_values_match_functional():
    clips = make_clips()
    got = run_metric(AVSSemanticMetric(), clips, batch_size=3)
    want = both(clips)
    assert set(got) == {'mIoU', 'F-score', 'mIoU(avsbench)', 'F-score(avsbench)'} == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-9), key
        assert 0.0 <= got[key] <= 1.0


def test_padding_convention_changes_the_score():
    clips = make_clips()
    before = run_metric(AVSSemanticMetric(), clips, batch_size=4)
    assert before['mIoU' + AVS] < before['mIoU'] - 1e-3   # wrong foreground on black frames
    # predicting background on padding frames instead: the frames still count
    for clip in clips:
        for f, valid in enumerate(clip['valid_frames']):
            if not valid:
                clip['seg_logits'][f] = 0.0
                clip['seg_logits'][f, 0] = 1.0
    after = run_metric(AVSSemanticMetric(), clips, batch_size=4)
    assert after['mIoU'] == before['mIoU'] and after['F-score'] == before['F-score']
    assert after == pytest.approx(both(clips), abs=1e-9)
    assert after['mIoU' + AVS] > before['mIoU' + AVS] + 1e-3
    assert after['mIoU' + AVS] != pytest.approx(after['mIoU'], abs=1e-6)


def test_unannotated_frames_are_ignored():
    clips = make_clips()
    v1s = clips[2]
    assert v1s['valid_frames'][3] and not v1s['annotated_frames'][3]
    metric = AVSSemanticMetric()
    before = run_metric(metric, clips, batch_size=2)
    spoiled = [dict(c) for c in clips]
    spoiled[2] = dict(v1s, seg_logits=v1s['seg_logits'].clone())
    spoiled[2]['seg_logits'][3] = -spoiled[2]['seg_logits'][3]
    assert run_metric(metric, spoiled, batch_size=2) == before
    spoiled[2]['seg_logits'][0] = -spoiled[2]['seg_logits'][0]   # annotated: counts
    after = run_metric(metric, spoiled, batch_size=2)
    for key in ('mIoU', 'mIoU' + AVS):
        assert after[key] != pytest.approx(before[key]), key


def test_process_batching_and_result_order_do_not_matter():
    clips = make_clips()
    metric = AVSSemanticMetric()
    reference = run_metric(metric, clips, batch_size=1)
    for batch_size in (2, 5, len(clips)):
        assert run_metric(metric, clips, batch_size) == pytest.approx(reference, abs=1e-12)
    shuffled = clips[:]
    random.Random(1).shuffle(shuffled)
    assert run_metric(metric, shuffled, batch_size=3) == pytest.approx(reference, abs=1e-12)


def test_pred_masks_without_scores():
    clips = make_clips()
    with_scores = run_metric(AVSSemanticMetric(), clips, batch_size=3)
    labels_only = [{**{k: v for k, v in c.items() if k != 'seg_logits'},
                    'pred_masks': c['seg_logits'].argmax(1)} for c in clips]
    assert run_metric(AVSSemanticMetric(num_classes=K1), labels_only, 3) == \
        pytest.approx(with_scores, abs=1e-12)
    metric = AVSSemanticMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    assert run_metric(metric, labels_only, 3) == pytest.approx(with_scores, abs=1e-12)
    with pytest.raises(ValueError, match='num_classes'):
        AVSSemanticMetric().process(None, labels_only[:1])


def test_per_class_results_and_table(monkeypatch):
    logged = []
    monkeypatch.setattr(semantic_module, 'print_log', lambda msg, **kw: logged.append(msg))
    metric = AVSSemanticMetric(per_class_results=True)
    metric.dataset_meta = dict(classes=CLASSES)
    got = run_metric(metric, make_clips(), batch_size=3)
    ious = [got[f'IoU.{c}'] for c in CLASSES]
    fs = [got[f'F-score.{c}'] for c in CLASSES]
    assert got['mIoU'] == pytest.approx(sum(ious) / K1)
    assert got['F-score'] == pytest.approx(sum(fs) / K1)
    assert len(logged) == 1 and all(logged[0].count(c) == 2 for c in CLASSES[1:])
    assert 'without padding frames' in logged[0]
    assert 'AVSBench convention, with padding frames as background' in logged[0]


def test_through_mmengine_evaluator_with_data_samples():
    clips = make_clips()
    evaluator = Evaluator(AVSSemanticMetric())
    evaluator.dataset_meta = dict(classes=CLASSES)
    for i in range(0, len(clips), 2):
        evaluator.process([to_data_sample(c) for c in clips[i:i + 2]])
    got = evaluator.evaluate(len(clips))
    want = both(clips)
    assert set(got) == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-9), key
