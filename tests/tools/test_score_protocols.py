"""tools/analysis_tools/score_protocols.py and catravs.analysis.protocols.

Each protocol is checked against the loop-based oracle of tests/evaluation/
avsbench_reference.py (reading the same float16 logits the score files hold) or a hand
computation; the metrics' own values are a second check, not the first.
"""
from __future__ import annotations

import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from catravs.analysis.protocols import (
    BINARY_PROTOCOLS,
    SEMANTIC_PROTOCOLS,
    BinaryProtocol,
    score_protocols,
)
from catravs.evaluation.clip_scores import clip_score_arrays, load_score_dir, save_score_file
from catravs.evaluation.metrics import AVSBinaryMetric, AVSSemanticMetric
from tests.conftest import REPO_ROOT
from tests.evaluation.avsbench_reference import ref_fscore, ref_jaccard, ref_semantic, sigmoid32
from tests.evaluation.clip_samples import binary_clip, run_metric, semantic_clip

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'score_protocols.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('score_protocols', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(folder: str, clips: list[dict]) -> str:
    for c in clips:
        save_score_file(osp.join(folder, f"{c['sample_idx']:06d}.npz"),
                        clip_score_arrays(c['seg_logits'], c['gt_masks'], c))
    return folder


def binary_clips() -> list[dict]:
    """Seven clips: empty ground truths here and there, one clip with no object at all,
    one frame left unannotated."""
    clips = [binary_clip(s, s, empty_frames=e) for s, e in
             [(0, ()), (1, (2,)), (2, (0, 1, 2, 3, 4)), (3, ()), (4, (4,)), (5, ()), (6, (1, 3))]]
    clips[3] = binary_clip(3, 3, annotated=(True, True, False, True, True))
    return clips


def row(result: dict, name: str) -> dict:
    return next(r for r in result['rows'] if r['protocol'] == name)


def oracle_binary(records: list[dict], protocol: BinaryProtocol) -> tuple[float, float]:
    """The protocol read literally: group clips, per group mIoU and Eval_Fmeasure."""
    frames = []
    for r in records:
        keep = r['annotated_frames'] & r['valid_frames']
        frames.append((r['logits'][keep].astype(np.float32), r['gt'][keep].astype(np.int64)))
    size = protocol.clips_per_batch or len(frames)
    mious, fs = [], []
    for i in range(0, len(frames), size):
        logits = np.concatenate([f[0] for f in frames[i:i + size]])
        gt = np.concatenate([f[1] for f in frames[i:i + size]])
        j = ref_jaccard(logits, gt)
        empty = gt.reshape(len(gt), -1).sum(1) == 0
        if protocol.empty_gt == 'skip':
            j = j[~empty]
        elif protocol.empty_gt == 'match':
            nothing = ~(sigmoid32(logits) > 0.5).reshape(len(gt), -1).any(1)
            j = np.where(empty, nothing.astype(float), j)
        mious.append(j.mean())
        fs.append(ref_fscore(logits, gt))
    return float(np.mean(mious)), float(np.mean(fs))


def test_binary_protocols_match_the_oracle(tmp_path):
    records = load_score_dir(write(str(tmp_path), binary_clips()))
    result = score_protocols(records)
    assert result['task'] == 'binary' and result['clips'] == 7 and result['frames'] == 34
    assert [r['protocol'] for r in result['rows']] == [p.name for p in BINARY_PROTOCOLS]
    for protocol in BINARY_PROTOCOLS:
        miou, fscore = oracle_binary(records, protocol)
        got = row(result, protocol.name)
        assert got['mIoU'] == pytest.approx(miou, abs=1e-6), protocol.name
        assert got['F-score'] == pytest.approx(fscore, abs=1e-6), protocol.name
    # the groups differ, so the released values differ from one another
    released = [row(result, p.name)['F-score'] for p in BINARY_PROTOCOLS[:3]]
    assert len({round(f, 6) for f in released}) == 3
    # clip 2 (no object) is a whole batch for CATR: its F = 0 counts in CATR's mean
    assert row(result, 'CATR (released)')['groups'] == 7


def test_binary_protocols_agree_with_the_metric(tmp_path):
    clips = binary_clips()
    result = score_protocols(load_score_dir(write(str(tmp_path), clips)))
    for size, name in [(1, 'CATR (released)'), (4, 'TPAVI / AVSBench (released)')]:
        metric = run_metric(AVSBinaryMetric(fscore_batch_size=size), clips, batch_size=3)
        assert row(result, name)['F-score'] == pytest.approx(metric['F-score'], abs=5e-4)
        assert row(result, 'per dataset (catravs)')['F-score'] == pytest.approx(
            metric['F-score(dataset)'], abs=5e-4)
        assert row(result, 'per dataset (catravs)')['mIoU'] == pytest.approx(
            metric['mIoU'], abs=1e-9)


def hand_clip(idx: int, gt: list[int], positive: list[int]) -> dict:
    """One frame of 1 x 4 pixels; probability 1 on ``positive`` pixels and ~2e-9 elsewhere
    (logits +-20), so every threshold above 0 keeps exactly the positive pixels."""
    logits = torch.tensor([[[20.0 if p else -20.0 for p in positive]]])
    return dict(seg_logits=logits, gt_masks=torch.tensor([[gt]]), annotated_frames=[True],
                valid_frames=[True], clip_id=f'hand{idx}', sample_idx=idx, category='')


def test_grouping_changes_f_as_computed_by_hand(tmp_path):
    # per-frame F = 1.3 P R / (0.3 P + R), at threshold 0 (every pixel predicted) and above
    # A: gt 1100, pred 1000: t=0 P=1/2 R=1 -> 0.65/1.15;  t>0 P=1 R=1/2 -> 0.65/0.8
    # B: gt 1000, pred 1111: P=1/4 R=1 at every t -> 0.325/1.075
    # C: gt 1111, pred 0000: t=0 P=R=1 -> 1;               t>0 nothing -> 0
    a0, a1, b, c0, c1 = 0.65 / 1.15, 0.65 / 0.8, 0.325 / 1.075, 1.0, 0.0
    clips = [hand_clip(0, [1, 1, 0, 0], [1, 0, 0, 0]), hand_clip(1, [1, 0, 0, 0], [1, 1, 1, 1]),
             hand_clip(2, [1, 1, 1, 1], [0, 0, 0, 0])]
    by_one = (max(a0, a1) + b + max(c0, c1)) / 3                           # 0.70494
    by_two = (max((a0 + b) / 2, (a1 + b) / 2) + max(c0, c1)) / 2           # 0.77871
    by_all = max((a0 + b + c0) / 3, (a1 + b + c1) / 3)                     # 0.62251
    assert by_one == pytest.approx(0.704942, abs=1e-6)
    assert by_two == pytest.approx(0.778706, abs=1e-6)
    assert by_all == pytest.approx(0.622514, abs=1e-6)
    result = score_protocols(load_score_dir(write(str(tmp_path), clips)))
    for name, expected in [('CATR (released)', by_one), ('AVSegFormer (released)', by_two),
                           ('TPAVI / AVSBench (released)', by_all),
                           ('per dataset (catravs)', by_all)]:
        assert row(result, name)['F-score'] == pytest.approx(expected, abs=1e-6), name
    # J per frame: 1/2, 1/4, 0; batches of 2 clips average (3/8 + 0) / 2
    assert row(result, 'CATR (released)')['mIoU'] == pytest.approx(0.25, abs=1e-6)
    assert row(result, 'AVSegFormer (released)')['mIoU'] == pytest.approx(0.1875, abs=1e-6)


def test_empty_ground_truth_conventions_by_hand(tmp_path):
    # frame 0: object, J = 1/2; frame 1: empty gt, 1 of 4 pixels predicted (TN 3/4);
    # frame 2: empty gt, nothing predicted (TN 4/4)
    clip = dict(seg_logits=torch.tensor([[[20.0, -20, -20, -20]], [[20.0, -20, -20, -20]],
                                         [[-20.0, -20, -20, -20]]]),
                gt_masks=torch.tensor([[[1, 1, 0, 0]], [[0, 0, 0, 0]], [[0, 0, 0, 0]]]),
                annotated_frames=[True] * 3, valid_frames=[True] * 3, clip_id='e',
                sample_idx=0, category='')
    result = score_protocols(load_score_dir(write(str(tmp_path), [clip])))
    expected = {'per dataset (catravs)': (0.5 + 0.75 + 1) / 3,
                'per dataset, empty-GT frames skipped in J': 0.5,
                'per dataset, empty GT: J = 1 iff nothing predicted': (0.5 + 0 + 1) / 3}
    for name, miou in expected.items():
        assert row(result, name)['mIoU'] == pytest.approx(miou, abs=1e-6), name
        assert row(result, name)['F-score'] == pytest.approx(0.65 / 0.8, abs=1e-6)


def semantic_clips(num_classes: int = 6) -> list[dict]:
    return [semantic_clip(s, s, subset=['v2', 'v1m', 'v1s', 'v2'][s % 4],
                          num_classes=num_classes) for s in range(8)]


def test_semantic_protocols_match_the_oracle(tmp_path):
    k = 6
    clips = semantic_clips(k)
    records = load_score_dir(write(str(tmp_path), clips))
    result = score_protocols(records)
    assert [r['protocol'] for r in result['rows']] == [p.name for p in SEMANTIC_PROTOCOLS]
    sums = {}
    for part in ('real', 'padding'):
        total = [np.zeros(k) for _ in range(3)]
        for r in records:
            keep = (r['annotated_frames'] & r['valid_frames'] if part == 'real'
                    else ~r['valid_frames'])
            labels = r['labels'][keep].astype(np.int64)
            gt = r['gt'][keep].astype(np.int64) if part == 'real' else np.zeros_like(labels)
            scores = np.eye(k)[labels].transpose(0, 3, 1, 2)  # one-hot: argmax = the labels
            total = [t + s for t, s in zip(total, ref_semantic(scores, gt))]
        sums[part] = total
    for protocol in SEMANTIC_PROTOCOLS:
        parts = [sums['real']] + ([sums['padding']] if protocol.padding_frames else [])
        iou_sum, f_sum, count = (sum(p[i] for p in parts) for i in range(3))
        keep = [c for c in range(k) if not (
            (protocol.drop_class == 'last' and c == k - 1)
            or (protocol.drop_class == 'background' and c == 0))]
        miou = np.mean([iou_sum[c] / count[c] if count[c] else 0.0 for c in keep])
        fscore = np.mean([f_sum[c] / count[c] if count[c] else 0.0 for c in keep])
        got = row(result, protocol.name)
        assert got['mIoU'] == pytest.approx(miou, abs=1e-9), protocol.name
        assert got['F-score'] == pytest.approx(fscore, abs=1e-9), protocol.name
    # 2 v2 clips x 10 + 2 v1m x 5 + 2 v1s x 1 annotated real frames; 4 x 5 padding frames
    assert row(result, 'real frames (catravs)')['frames'] == 4 * 10 + 2 * 5 + 2 * 1
    assert row(result, 'TPAVI / AVSegFormer (released)')['frames'] == 52 + 4 * 5
    metric = run_metric(AVSSemanticMetric(), clips, batch_size=4)
    assert row(result, 'real frames (catravs)')['mIoU'] == pytest.approx(metric['mIoU'])
    assert row(result, 'TPAVI / AVSegFormer (released)')['F-score'] == pytest.approx(
        metric['F-score(avsbench)'])


def test_cli_in_process_and_json(tmp_path, capsys):
    folder = write(str(tmp_path / 'scores'), binary_clips())
    out = str(tmp_path / 'out' / 'protocols.json')
    assert load_tool().main([folder, '--json', out]) == 0
    printed = capsys.readouterr().out
    for protocol in BINARY_PROTOCOLS:
        assert protocol.name in printed
    assert 'CATR/test.py:33' in printed and 'test.sh:12' in printed
    saved = json.load(open(out))
    expected = score_protocols(load_score_dir(folder))
    assert [(r['protocol'], r['mIoU'], r['F-score']) for r in saved['rows']] == \
        [(r['protocol'], r['mIoU'], r['F-score']) for r in expected['rows']]
    catr = row(saved, 'CATR (released)')
    assert f"| {100 * catr['mIoU']:.2f} | {100 * catr['F-score']:.2f} |" in printed
    assert load_tool().main([str(tmp_path / 'nowhere')]) == 1
    assert 'nowhere' in capsys.readouterr().err


def test_cli_subprocess_semantic(tmp_path):
    folder = write(str(tmp_path / 'scores'), semantic_clips())
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, TOOL, folder, '--json', str(tmp_path / 'p.json')],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for protocol in SEMANTIC_PROTOCOLS:
        assert protocol.name in proc.stdout
    assert 'avss/test.py:196,201' in proc.stdout
    assert json.load(open(tmp_path / 'p.json'))['task'] == 'semantic'


def test_demo_scores_have_the_structure_the_protocols_tell_apart(tmp_path):
    tool = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'make_demo_scores.py')
    spec = importlib.util.spec_from_file_location('make_demo_scores', tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(tmp_path / 'b'), '--task', 'binary', '--clips', '30']) == 0
    assert module.main([str(tmp_path / 's'), '--task', 'semantic', '--clips', '12']) == 0
    binary = load_score_dir(str(tmp_path / 'b'))
    assert len(binary) == 30 and any((r['gt'].reshape(5, -1).sum(1) == 0).any() for r in binary)
    result = score_protocols(binary)
    assert row(result, 'per dataset (catravs)')['mIoU'] != \
        row(result, 'per dataset, empty-GT frames skipped in J')['mIoU']
    semantic = load_score_dir(str(tmp_path / 's'))
    assert semantic[0]['num_classes'] == 71 and any(not r['valid_frames'].all() for r in semantic)
    result = score_protocols(semantic)
    assert row(result, 'TPAVI / AVSegFormer (released)')['frames'] == 120
    assert row(result, 'real frames (catravs)')['frames'] < 120
