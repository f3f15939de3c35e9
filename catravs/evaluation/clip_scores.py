"""Score files: one clip's prediction and label, saved compactly for re-scoring later.

Every AVSBench protocol (see ``docs/evaluation_protocols.md``) can be computed from what
one ``{sample_idx:06d}.npz`` per clip holds, so a test run saved once can be scored under
any protocol without the model or the dataset:

* ``task``: ``'binary'`` (S4 / MS3) or ``'semantic'`` (AVSS);
* binary: ``logits``, float16 ``[T, H, W]``, the mask logits at the label size (the F
  measure thresholds ``sigmoid(logits)`` 255 times, so a thresholded mask is not enough;
  float16 halves the size and moves a logit by at most 2^-11 of itself, which keeps its
  sign except within ~1e-7 of zero);
* semantic: ``labels``, uint8 (uint16 above 256 classes) ``[T, H, W]``, AVSBench's class
  map ``argmax(softmax(scores))`` (every AVSS protocol scores the class map only), and
  ``num_classes`` (K + 1, background included);
* ``gt``: ``[T, H, W]`` the labels the metric compares with (0/1 or class indices; 255
  where a frame has no label), same dtype rule;
* ``annotated_frames``, ``valid_frames``: bool ``[T]`` (valid False: a padding frame);
* ``clip_id``, ``category`` (str), ``sample_idx`` (int, -1 when unknown), ``version``.

Every frame is kept, padding frames included: AVSBench-semantic's released test scores
them. ``PredictionWriterHook(score_dir=...)`` (``tools/test.py --score-dir``) writes these
files; :func:`load_score_dir` reads a folder of them back in dataset order.
"""
from __future__ import annotations

import glob
import os
import os.path as osp
from typing import Any

import numpy as np
import torch

from .functional.semantic import semantic_pred_labels

#: format version written to every file; :func:`load_score_file` refuses others
SCORE_FILE_VERSION = 1
TASKS = ('binary', 'semantic')


def _label_array(x: Any) -> np.ndarray:
    """Integer labels as uint8, or uint16 when a value exceeds 255."""
    x = np.asarray(x.cpu() if torch.is_tensor(x) else x).astype(np.int64)
    if x.size and (x.min() < 0 or x.max() > 65535):
        raise ValueError(f'labels must lie in [0, 65535], found [{x.min()}, {x.max()}]')
    return x.astype(np.uint8 if not x.size or x.max() <= 255 else np.uint16)


def clip_score_arrays(seg_logits: torch.Tensor, gt_masks: torch.Tensor, meta: dict) -> dict:
    """The arrays of one clip's score file.

    Args:
        seg_logits: binary ``Tensor[T, H, W]`` (or ``[T, 1, H, W]``) mask logits, or
            semantic ``Tensor[T, K1, H, W]`` class scores, at the label size.
        gt_masks: ``Tensor[T, H, W]`` labels (255: no label).
        meta: the clip's metainfo (``annotated_frames``, ``valid_frames``, ``clip_id``,
            ``category``, ``sample_idx``; the flags default to all True).

    Returns:
        ``{name: np.ndarray}`` as the module doc lists them.
    """
    t = gt_masks.shape[0]
    if seg_logits.dim() == 4 and seg_logits.shape[1] == 1:
        seg_logits = seg_logits[:, 0]
    task = 'binary' if seg_logits.dim() == 3 else 'semantic'
    if seg_logits.shape[0] != t or tuple(seg_logits.shape[-2:]) != tuple(gt_masks.shape[-2:]):
        raise ValueError(f"clip '{meta.get('clip_id')}': seg_logits {tuple(seg_logits.shape)} "
                         f'and gt_masks {tuple(gt_masks.shape)} do not match')

    def flags(key: str) -> np.ndarray:
        value = meta.get(key)
        value = [True] * t if value is None else [bool(v) for v in value]
        if len(value) != t:
            raise ValueError(f"clip '{meta.get('clip_id')}': {key} has {len(value)} entries "
                             f'for {t} frames')
        return np.array(value, dtype=bool)

    out = dict(version=np.int64(SCORE_FILE_VERSION), task=np.str_(task),
               gt=_label_array(gt_masks),
               annotated_frames=flags('annotated_frames'), valid_frames=flags('valid_frames'),
               clip_id=np.str_(meta.get('clip_id', '') or ''),
               category=np.str_(meta.get('category', '') or ''),
               sample_idx=np.int64(-1 if meta.get('sample_idx') is None
                                   else meta['sample_idx']))
    if task == 'binary':
        out['logits'] = seg_logits.detach().float().cpu().numpy().astype(np.float16)
    else:
        out['labels'] = _label_array(semantic_pred_labels(seg_logits.detach()))
        out['num_classes'] = np.int64(seg_logits.shape[1])
    return out


def save_score_file(path: str, arrays: dict) -> None:
    """Write one clip's arrays (from :func:`clip_score_arrays`) to ``path`` (.npz)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    np.savez_compressed(path, **arrays)


def load_score_file(path: str) -> dict:
    """One score file as ``{name: value}``: arrays for the per-pixel and per-frame fields,
    Python str / int for the rest."""
    try:
        with np.load(path, allow_pickle=False) as data:
            raw = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: not a readable .npz score file ({err})') from err
    version = int(raw.get('version', -1))
    if version != SCORE_FILE_VERSION:
        raise ValueError(f'{path}: score file version {version}, this catravs reads '
                         f'version {SCORE_FILE_VERSION}')
    task = str(raw.get('task', ''))
    needed = ['gt', 'annotated_frames', 'valid_frames'] + (
        ['logits'] if task == 'binary' else ['labels', 'num_classes'])
    missing = [k for k in needed if k not in raw]
    if task not in TASKS or missing:
        raise ValueError(f'{path}: task {task!r}, missing {missing}: not a catravs score file')
    record = dict(raw, task=task, clip_id=str(raw.get('clip_id', '')),
                  category=str(raw.get('category', '')),
                  sample_idx=int(raw.get('sample_idx', -1)), path=path)
    if task == 'semantic':
        record['num_classes'] = int(raw['num_classes'])
    pred = record['logits' if task == 'binary' else 'labels']
    t = record['gt'].shape[0]
    if pred.shape != record['gt'].shape or record['annotated_frames'].shape != (t,) \
            or record['valid_frames'].shape != (t,):
        raise ValueError(f'{path}: prediction {pred.shape}, gt {record["gt"].shape} and '
                         f'frame flags {record["annotated_frames"].shape} do not match')
    return record


def load_score_dir(score_dir: str) -> list[dict]:
    """Every ``*.npz`` score file under ``score_dir`` (recursively), in dataset order
    (``sample_idx``; the file name where a clip has none).

    Raises:
        FileNotFoundError: the folder is missing or holds no ``.npz``.
        ValueError: a file is not a score file, or files mix tasks or class counts.
    """
    if not osp.isdir(score_dir):
        raise FileNotFoundError(f'score folder not found: {score_dir}')
    paths = sorted(glob.glob(osp.join(score_dir, '**', '*.npz'), recursive=True))
    if not paths:
        raise FileNotFoundError(f'no .npz score files under {score_dir} (write them with '
                                'tools/test.py CONFIG CHECKPOINT --score-dir DIR)')
    records = [load_score_file(p) for p in paths]
    kinds = {(r['task'], r.get('num_classes')) for r in records}
    if len(kinds) != 1:
        raise ValueError(f'{score_dir} mixes score files of different tasks or class counts: '
                         f'{sorted(kinds, key=str)}')
    if all(r['sample_idx'] >= 0 for r in records):
        records.sort(key=lambda r: r['sample_idx'])
    return records
