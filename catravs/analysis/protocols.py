"""One set of saved predictions scored under each method's released evaluation protocol.

AVS papers compare mIoU and F figures that differ in how they are averaged, not only in
the model. Every protocol here reuses AVSBench's per-frame arithmetic
(:mod:`catravs.evaluation.functional`) and changes only the averaging:

Binary (S4 / MS3), clips in dataset order, the scored frames of each clip (annotated and
not padding; the released test splits annotate every frame):

* a *batch protocol* groups ``clips_per_batch`` consecutive clips as the released
  ``test.py`` does with its test batch (the last group may be short); mIoU is the mean
  over groups of the group's mean per-frame J, F the mean over groups of the group's F
  (the maximum over 255 thresholds of its frames' mean F curve; frames with an empty
  ground truth are skipped and a group without any other frame scores F = 0). The
  released values: CATR 1 clip, AVSegFormer 2, TPAVI (AVSBench) 4.
* ``clips_per_batch=None`` scores the whole split as one group: mIoU is the mean per-frame
  J, F the dataset-level F (catravs' ``AVSBinaryMetric`` ``mIoU`` / ``F-score(dataset)``).
* ``empty_gt`` says what J a frame with an empty ground truth gets: ``'tn'`` the released
  ``mask_iou``'s fraction of pixels correctly left empty, ``'skip'`` none (left out of
  the mean), ``'match'`` 1 when nothing is predicted either and 0 otherwise (two empty
  masks agree). F always skips such frames.

Semantic (AVSS), sums over frames (the released values do not depend on the batch):

* ``padding_frames``: also score the padding frames of clips shorter than T (the black
  frames that fill 5-frame clips up to 10) against an all-background label, as the
  released ``test.py`` does;
* ``drop_class``: the classes averaged: ``None`` all K + 1; ``'last'`` all but the last,
  the released "noBg"; ``'background'`` all but the background class.

Each protocol names the released lines it follows (``source``), the commits those lines
come from are in :data:`RELEASED_COMMITS`.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from catravs.evaluation.functional import (
    binary_fscore_curves,
    binary_jaccard,
    binary_probs,
    fscore_of_curves,
    semantic_iou_fscore_from_labels,
    semantic_per_class,
)
from catravs.evaluation.metrics.text_table import format_table

#: the released code the ``source`` fields cite (GitHub repository @ commit)
RELEASED_COMMITS = {
    'AVSBench': 'OpenNLPLab/AVSBench @ f7414af',
    'AVSegFormer': 'vvvb-github/AVSegFormer @ 7083cb6',
    'CATR': 'aspirinone/CATR.github.io @ aa3615c',
}
EMPTY_GT_RULES = ('tn', 'skip', 'match')
DROP_CLASS_RULES = (None, 'last', 'background')


@dataclass(frozen=True)
class BinaryProtocol:
    """How S4 / MS3 per-frame scores are averaged (see the module doc).

    name: row label; clips_per_batch: clips per group, None for the whole split;
    empty_gt: J of a frame with an empty ground truth ('tn', 'skip', 'match');
    source: the released lines this follows, or what it is.
    """

    name: str
    clips_per_batch: int | None
    empty_gt: str
    source: str

    def __post_init__(self) -> None:
        if self.empty_gt not in EMPTY_GT_RULES:
            raise ValueError(f'{self.name}: empty_gt must be one of {EMPTY_GT_RULES}, '
                             f'got {self.empty_gt!r}')
        if self.clips_per_batch is not None and self.clips_per_batch < 1:
            raise ValueError(f'{self.name}: clips_per_batch must be >= 1 or None')


@dataclass(frozen=True)
class SemanticProtocol:
    """How AVSS per-class sums are reduced (see the module doc)."""

    name: str
    padding_frames: bool
    drop_class: str | None
    source: str

    def __post_init__(self) -> None:
        if self.drop_class not in DROP_CLASS_RULES:
            raise ValueError(f'{self.name}: drop_class must be one of {DROP_CLASS_RULES}')


_AVSB_S4 = ('AVSBench avs_scripts/avs_s4/test.sh:12 (--test_batch_size 4), test.py:112-116,'
            '142-153, utils/utility.py:45-118 (avs_ms3: test.sh:11, the same lines)')
_AFM_S4 = ('AVSegFormer config/s4/AVSegFormer_pvt2_s4.py:72 (batch_size=2; ms3 and res50 '
           'configs alike), scripts/s4/test.py:31-38,62-73, scripts/s4/utility.py:48-120')
_CATR_S4 = ('CATR CATR/test.py:33 (--test_batch_size default 1),100-105,148-155, '
            'CATR/utils/utility.py:46-119')

BINARY_PROTOCOLS: tuple[BinaryProtocol, ...] = (
    BinaryProtocol('CATR (released)', 1, 'tn', _CATR_S4),
    BinaryProtocol('AVSegFormer (released)', 2, 'tn', _AFM_S4),
    BinaryProtocol('TPAVI / AVSBench (released)', 4, 'tn', _AVSB_S4),
    BinaryProtocol('per dataset (catravs)', None, 'tn',
                   'AVSBinaryMetric mIoU and F-score(dataset): batch-independent'),
    BinaryProtocol('per dataset, empty-GT frames skipped in J', None, 'skip',
                   'J over frames with an object only'),
    BinaryProtocol('per dataset, empty GT: J = 1 iff nothing predicted', None, 'match',
                   'two empty masks agree (0/0 = 1)'),
)

_AVSB_AVSS = ('AVSBench avs_scripts/avss/test.py:143-201, utils/compute_color_metrics.py:23-77; '
              'AVSegFormer scripts/avss/test.py:48-104, utils/compute_color_metrics.py:23-83')
SEMANTIC_PROTOCOLS: tuple[SemanticProtocol, ...] = (
    SemanticProtocol('TPAVI / AVSegFormer (released)', True, None, _AVSB_AVSS),
    SemanticProtocol('released "noBg" (last class dropped)', True, 'last',
                     'AVSBench avss/test.py:196,201; AVSegFormer scripts/avss/test.py:98,104'),
    SemanticProtocol('padding frames, background dropped', True, 'background',
                     'what "noBg" names: class 0 left out'),
    SemanticProtocol('real frames (catravs)', False, None,
                     'AVSSemanticMetric mIoU / F-score: padding frames not scored'),
    SemanticProtocol('real frames, last class dropped', False, 'last', 'noBg as released'),
    SemanticProtocol('real frames, background dropped', False, 'background',
                     'class 0 left out'),
)


def _scored(record: dict) -> np.ndarray:
    """bool[T]: the frames a protocol scores against their label (annotated, real)."""
    return record['annotated_frames'] & record['valid_frames']


# ---------------------------------------------------------------- binary
def binary_frame_records(records: Sequence[dict], beta2: float = 0.3,
                         num_thresholds: int = 255) -> list[dict]:
    """Per clip, what every binary protocol needs, from score files' records.

    Returns one dict per clip that has a scored frame, in the given order:
    ``ious`` float64 [N] (per-frame J, the released empty-GT rule), ``empty_gt`` bool [N],
    ``empty_pred`` bool [N] (nothing above 0.5), ``f_curve_sum`` float64 [num_thresholds]
    (sum of the F curves of frames with an object) and ``num_fg`` (how many).
    """
    out = []
    for r in records:
        keep = _scored(r)
        if not keep.any():
            continue
        logits = torch.from_numpy(r['logits'][keep].astype(np.float32))
        gt = torch.from_numpy(r['gt'][keep].astype(np.int64))
        if bool(((gt != 0) & (gt != 1)).any()):
            raise ValueError(f"{r.get('path', r['clip_id'])}: an annotated frame's label holds "
                             'values other than 0 and 1')
        curves = binary_fscore_curves(logits, gt, beta2, num_thresholds)
        out.append(dict(
            clip_id=r['clip_id'],
            ious=binary_jaccard(logits, gt).double().numpy(),
            empty_gt=(gt.flatten(1).sum(1) == 0).numpy(),
            empty_pred=~(binary_probs(logits) > 0.5).flatten(1).any(1).numpy(),
            f_curve_sum=curves.double().sum(0).numpy(),
            num_fg=int(curves.shape[0])))
    return out


def _frame_ious(clip: dict, empty_gt: str) -> np.ndarray:
    if empty_gt == 'tn':
        return clip['ious']
    if empty_gt == 'skip':
        return clip['ious'][~clip['empty_gt']]
    match = clip['empty_pred'].astype(np.float64)
    return np.where(clip['empty_gt'], match, clip['ious'])


def score_binary(clips: Sequence[dict], protocol: BinaryProtocol) -> dict:
    """mIoU and F of ``clips`` (from :func:`binary_frame_records`) under ``protocol``.

    Returns ``{'mIoU', 'F-score'}`` in [0, 1] and ``groups`` (how many were averaged).
    """
    size = protocol.clips_per_batch or max(len(clips), 1)
    groups = [clips[i:i + size] for i in range(0, len(clips), size)]
    ious, fscores = [], []
    for group in groups:
        values = np.concatenate([_frame_ious(c, protocol.empty_gt) for c in group])
        if values.size:  # a group without a frame to score is left out of the mean
            ious.append(values.mean())
        curve_sum = torch.from_numpy(np.sum([c['f_curve_sum'] for c in group], axis=0))
        fscores.append(fscore_of_curves(curve_sum, sum(c['num_fg'] for c in group)))
    return {'mIoU': float(np.mean(ious)) if ious else 0.0,
            'F-score': float(np.mean(fscores)) if fscores else 0.0,
            'groups': len(groups)}


# ---------------------------------------------------------------- semantic
def semantic_sums(records: Sequence[dict], background_index: int = 0, beta2: float = 0.3
                  ) -> dict[str, dict]:
    """Per-class IoU / F sums and frame counts over the real and the padding frames.

    Returns ``{'real': sums, 'padding': sums}``, each ``{'iou_sum', 'fscore_sum', 'count'}``
    (float64 Tensor[K1]) and ``'frames'``; padding frames are scored against an
    all-``background_index`` label, as the released test does.
    """
    k = records[0]['num_classes']
    zero = torch.zeros(k, dtype=torch.float64)
    parts = {part: dict(iou_sum=zero, fscore_sum=zero, count=zero, frames=0)
             for part in ('real', 'padding')}
    for r in records:  # clip by clip: label sizes may differ between clips
        for part, keep in (('real', _scored(r)), ('padding', ~r['valid_frames'])):
            if not keep.any():
                continue
            pred = torch.from_numpy(r['labels'][keep].astype(np.int64))
            gt = torch.from_numpy(r['gt'][keep].astype(np.int64))
            if part == 'padding':
                gt = torch.full_like(gt, background_index)
            iou_sum, f_sum, count = semantic_iou_fscore_from_labels(pred, gt, k, beta2)
            acc = parts[part]
            acc.update(iou_sum=acc['iou_sum'] + iou_sum, fscore_sum=acc['fscore_sum'] + f_sum,
                       count=acc['count'] + count, frames=acc['frames'] + int(keep.sum()))
    return parts


def score_semantic(sums: dict[str, dict], protocol: SemanticProtocol,
                   background_index: int = 0) -> dict:
    """mIoU and F under ``protocol`` from :func:`semantic_sums`: per class sum / count
    (0 for a class never seen), averaged over the classes the protocol keeps.
    Returns ``{'mIoU', 'F-score', 'frames'}``."""
    parts = [sums['real']] + ([sums['padding']] if protocol.padding_frames else [])
    count = sum(p['count'] for p in parts)
    iou = semantic_per_class(sum(p['iou_sum'] for p in parts), count)
    fscore = semantic_per_class(sum(p['fscore_sum'] for p in parts), count)
    keep = torch.ones(len(count), dtype=torch.bool)
    if protocol.drop_class == 'last':
        keep[-1] = False
    elif protocol.drop_class == 'background':
        keep[background_index] = False
    return {'mIoU': float(iou[keep].mean()), 'F-score': float(fscore[keep].mean()),
            'frames': sum(p['frames'] for p in parts)}


# ---------------------------------------------------------------- all protocols
def score_protocols(records: Sequence[dict], background_index: int = 0,
                    binary_protocols: Sequence[BinaryProtocol] = BINARY_PROTOCOLS,
                    semantic_protocols: Sequence[SemanticProtocol] = SEMANTIC_PROTOCOLS
                    ) -> dict:
    """Score one set of score-file records (:func:`~catravs.evaluation.clip_scores.
    load_score_dir`) under every protocol of its task.

    Returns ``{'task', 'clips', 'frames', 'rows': [{'protocol', 'mIoU', 'F-score', ...,
    'source'}], 'released_commits'}`` (scores in [0, 1]).
    """
    if not records:
        raise ValueError('no clips to score')
    task = records[0]['task']
    rows = []
    if task == 'binary':
        clips = binary_frame_records(records)
        frames = int(sum(len(c['ious']) for c in clips))
        for p in binary_protocols:
            rows.append(dict(protocol=p.name, **score_binary(clips, p), **asdict(p)))
    else:
        sums = semantic_sums(records, background_index)
        frames = sums['real']['frames']
        for p in semantic_protocols:
            rows.append(dict(protocol=p.name, **score_semantic(sums, p, background_index),
                             **asdict(p)))
    for row in rows:
        row.pop('name')
    return dict(task=task, clips=len(records), frames=frames, rows=rows,
                released_commits=dict(RELEASED_COMMITS))


def format_protocol_table(result: dict) -> str:
    """The rows of :func:`score_protocols` as a text table (x100), sources underneath."""
    binary = result['task'] == 'binary'
    header = ['protocol', 'clips/batch' if binary else 'frames', 'mIoU', 'F', 'ref']
    rows, notes = [], []
    for i, row in enumerate(result['rows'], 1):
        extra = (str(row['clips_per_batch'] or 'all') if binary else str(row['frames']))
        rows.append([row['protocol'], extra, 100 * row['mIoU'], 100 * row['F-score'], f'[{i}]'])
        notes.append(f'[{i}] {row["source"]}')
    title = (f"{result['task']}: {result['clips']} clips, {result['frames']} scored frames "
             '(x100)')
    commits = 'released code: ' + ', '.join(result['released_commits'].values())
    return '\n'.join([title, format_table(header, rows), *notes, commits])


def protocol_json(result: dict) -> str:
    """:func:`score_protocols`'s result as indented JSON."""
    return json.dumps(result, indent=2)
