"""Synthetic score files shaped like AVSBench test predictions, to show the protocols apart.

No model: seeded boxes and noise. What matters for the protocols is the structure, which
follows the AVSBench test splits: binary clips of T = 5 annotated frames, some with an
empty ground truth (MS3's silent seconds) and some clips predicted badly; AVSS clips of
T = 10 mixing v1s / v1m (5 real frames + 5 padding frames) and v2 (10 real), 71 classes
with background 0, predictions that sometimes confuse a class, and padding frames whose
prediction is background except for a stray blob now and then.
Shapes: binary logits and labels [T, S, S]; AVSS class maps and labels [10, S, S].
"""
from __future__ import annotations

import os.path as osp

import numpy as np
import torch

from catravs.evaluation.clip_scores import clip_score_arrays, save_score_file


def _box(rng: np.random.Generator, size: int) -> tuple[slice, slice]:
    h, w = rng.integers(size // 6, size // 2, 2)
    y, x = rng.integers(0, size - h), rng.integers(0, size - w)
    return slice(y, y + h), slice(x, x + w)


def binary_demo_clip(rng: np.random.Generator, idx: int, size: int = 64,
                     empty_prob: float = 0.15) -> dict:
    """One S4/MS3-like clip: 5 annotated frames, logits around a (shifted) box."""
    t = 5
    gt = np.zeros((t, size, size), np.int64)
    quality = rng.uniform(0.3, 1.0)  # how well this clip is predicted
    logits = rng.normal(-2.0, 1.5, (t, size, size))
    for i in range(t):
        if rng.random() >= empty_prob:
            ys, xs = _box(rng, size)
            gt[i, ys, xs] = 1
            shift = int(round((1 - quality) * size / 4))
            logits[i, ys.start + shift:ys.stop + shift, xs] += 4.0 * quality + 1.0
        if rng.random() < 0.5 * (1 - quality):  # a false positive elsewhere
            ys, xs = _box(rng, size)
            logits[i, ys, xs] += 3.0
    return dict(seg_logits=torch.from_numpy(logits).float(), gt_masks=torch.from_numpy(gt),
                annotated_frames=[True] * t, valid_frames=[True] * t, clip_id=f'demo{idx}',
                sample_idx=idx, category='')


def semantic_demo_clip(rng: np.random.Generator, idx: int, num_classes: int = 71,
                       size: int = 48) -> dict:
    """One AVSS-like clip of 10 frames (v1s/v1m: 5 real + 5 padding; v2: 10 real)."""
    t = 10
    subset = rng.choice(['v1s', 'v1m', 'v2'], p=[0.3, 0.2, 0.5])
    real = t if subset == 'v2' else 5
    gt = np.zeros((t, size, size), np.int64)
    pred = np.zeros_like(gt)
    classes = rng.choice(np.arange(1, num_classes), size=2, replace=False)
    quality = rng.uniform(0.4, 1.0)
    for i in range(t):
        if i >= real:
            if rng.random() < 0.2:  # the model's answer on a black padding frame
                ys, xs = _box(rng, size)
                pred[i, ys, xs] = rng.integers(1, num_classes)
            continue
        for c in classes[:1 + int(rng.random() < 0.4)]:
            ys, xs = _box(rng, size)
            gt[i, ys, xs] = c
            guess = c if rng.random() < quality else rng.integers(1, num_classes)
            shift = int(round((1 - quality) * size / 5))
            pred[i, ys.start + shift:ys.stop + shift, xs] = guess
    scores = torch.nn.functional.one_hot(torch.from_numpy(pred), num_classes)
    return dict(seg_logits=scores.permute(0, 3, 1, 2).float(), gt_masks=torch.from_numpy(gt),
                annotated_frames=[i < real for i in range(t)],
                valid_frames=[i < real for i in range(t)], clip_id=f'{subset}_{idx}',
                sample_idx=idx, category=str(subset))


def write_demo_scores(out_dir: str, task: str, num_clips: int, seed: int = 0) -> int:
    """Write ``num_clips`` synthetic score files of ``task`` ('binary' or 'semantic')
    to ``out_dir``; returns how many."""
    if task not in ('binary', 'semantic'):
        raise ValueError(f"task must be 'binary' or 'semantic', got {task!r}")
    rng = np.random.default_rng(seed)
    make = binary_demo_clip if task == 'binary' else semantic_demo_clip
    for idx in range(num_clips):
        clip = make(rng, idx)
        save_score_file(osp.join(out_dir, f'{idx:06d}.npz'),
                        clip_score_arrays(clip['seg_logits'], clip['gt_masks'], clip))
    return num_clips
