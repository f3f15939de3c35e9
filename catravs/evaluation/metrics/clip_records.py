"""Helpers shared by the AVS metrics: which frames of a clip count, record order."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _flags(sample: dict, key: str, num_frames: int, default: bool | None) -> Tensor:
    flags = sample.get(key)
    if flags is None:
        if default is None:
            raise KeyError(f"data sample of clip '{sample.get('clip_id')}' has no '{key}' "
                           'meta field; AVS metrics need it to know which frames count')
        flags = [default] * num_frames
    if len(flags) != num_frames:
        raise ValueError(f"clip '{sample.get('clip_id')}': {key} has {len(flags)} entries "
                         f'for {num_frames} frames')
    return torch.tensor([bool(f) for f in flags], dtype=torch.bool)


def scored_frames(sample: dict, num_frames: int) -> Tensor:
    """BoolTensor[T]: frames that are real (``valid_frames``, default all) and annotated."""
    annotated = _flags(sample, 'annotated_frames', num_frames, None)
    return annotated & valid_frames(sample, num_frames)


def valid_frames(sample: dict, num_frames: int) -> Tensor:
    """BoolTensor[T]: real frames (False: padding); all True when the field is absent."""
    return _flags(sample, 'valid_frames', num_frames, True)


def clip_meta(sample: dict) -> dict:
    """The identity of a clip kept in its result record."""
    return dict(sample_idx=sample.get('sample_idx'), clip_id=sample.get('clip_id', ''),
                category=sample.get('category', '') or '')


def order_records(results: Sequence[dict]) -> list[dict]:
    """Records in dataset order: sorted by ``sample_idx`` when every record has one.

    mmengine already gathers results in dataset order for the default sampler;
    sorting makes the order independent of the sampler and the number of ranks.
    """
    results = list(results)
    if results and all(r.get('sample_idx') is not None for r in results):
        return sorted(results, key=lambda r: r['sample_idx'])
    return results
