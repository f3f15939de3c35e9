"""Data-pipeline and evaluation cost (``benchmark.py --task data`` / ``--task eval``).

Data: the config's ``train_dataloader`` (its pipeline, batch size and workers) on
real dataset records: ``--data-root`` if given, the config's own demo data when its
dataset has ``synthesize``, else SynthAVS generated in the AVSBench layout of the
config's dataset at AVSBench's 224 x 224 (``work_dirs/benchmark_data/<subset>``).
Evaluation: the config's metric on synthetic predictions at the label size.
"""
from __future__ import annotations

import copy
import os.path as osp
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch

from catravs.registry import DATASETS, SCOPE

__all__ = ['data_cfg', 'measure_loader', 'stage_breakdown', 'measure_eval']


def _synthavs_subset(dataset_type: Any) -> str | None:
    """The SynthAVS subset that stands in for a dataset type (its class's
    ``SYNTHAVS_SUBSET``), or None."""
    try:
        cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    except KeyError:
        return None
    return getattr(cls, 'SYNTHAVS_SUBSET', None)


def data_cfg(cfg: Any, data_root: str | None = None, num_clips: int = 16,
             workers: int | None = None) -> dict:
    """The config's ``train_dataloader`` (a dict) pointed at data that exists."""
    loader = copy.deepcopy(cfg['train_dataloader'])
    loader = loader.to_dict() if hasattr(loader, 'to_dict') else dict(loader)
    dataset = loader['dataset']
    if data_root is not None:
        dataset['data_root'] = data_root
    elif 'synthesize' not in dataset:
        subset = _synthavs_subset(dataset.get('type', ''))
        if subset is None:
            raise ValueError(f"no generated data for dataset type {dataset.get('type')!r}; "
                             'give --data-root')
        dataset['data_root'] = osp.join('work_dirs', 'benchmark_data', f'{subset}_224_{num_clips}')
        dataset.pop('data_prefix', None)  # SynthAVS has no 's4_data/' level
        dataset['synthesize'] = dict(num_train=num_clips, num_val=1, num_test=1,
                                     image_size=224, seed=0)
    if workers is not None:
        loader['num_workers'] = workers
    if not loader.get('num_workers'):
        loader['persistent_workers'] = False
    return loader


def _build_loader(loader_cfg: dict):
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    with DefaultScope.overwrite_default_scope(SCOPE):
        return Runner.build_dataloader(copy.deepcopy(loader_cfg), seed=0)


def _forever(loader) -> Iterator:
    while True:
        yield from loader


def measure_loader(loader_cfg: dict, batches: int = 10, warmup: int = 2,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Clips/s of the dataloader after ``warmup`` batches (worker start-up excluded)."""
    loader = _build_loader(loader_cfg)
    it = _forever(loader)
    times, clips = [], 0
    for i in range(warmup + batches):
        if progress:
            progress(f'batch {i}')
        start = time.perf_counter()
        batch = next(it)
        if i >= warmup:
            times.append(time.perf_counter() - start)
            clips += len(batch['data_samples'])
    total = sum(times)
    return dict(task='data', batches=batches, clips=clips, seconds=total,
                clips_per_s=clips / total, batch_size=loader_cfg.get('batch_size'),
                workers=loader_cfg.get('num_workers', 0),
                median_batch_s=statistics.median(times))


def stage_breakdown(loader_cfg: dict, clips: int = 8,
                    cache_dir: str | None = None) -> list[tuple[str, float]]:
    """Milliseconds per clip of each pipeline transform, in one process.

    With ``cache_dir``, a wav-reading ``LoadClipAudio`` is timed again with the
    log-mel cache there, warm (row ``LoadClipAudio (log-mel cache, warm)``).
    """
    from mmengine.registry import DefaultScope

    from catravs.datasets.transforms import LoadClipAudio
    with DefaultScope.overwrite_default_scope(SCOPE):
        dataset = DATASETS.build(copy.deepcopy(loader_cfg['dataset']))
    transforms = list(dataset.pipeline.transforms)
    extra = []
    for tr in transforms:
        if isinstance(tr, LoadClipAudio) and tr.source == 'wav' and cache_dir is not None:
            cached = copy.copy(tr)
            cached.cache_dir = cache_dir
            extra.append(cached)
    totals = [0.0] * (len(transforms) + len(extra))
    n = min(clips, len(dataset))
    for i in range(n):
        info = dataset.get_data_info(i)
        for cached in extra:  # fill the cache (not timed)
            cached(copy.deepcopy(info))
        results = copy.deepcopy(info)
        for j, tr in enumerate(transforms + extra):
            data = copy.deepcopy(info) if j >= len(transforms) else results
            start = time.perf_counter()
            out = tr(data)
            totals[j] += time.perf_counter() - start
            if j < len(transforms):
                results = out
    names = [type(t).__name__ for t in transforms] + \
        ['LoadClipAudio (log-mel cache, warm)'] * len(extra)
    return [(name, 1000 * total / n) for name, total in zip(names, totals)]


def _eval_samples(metric_type: str, clips: int, frames: int, size: int, classes: int,
                  seed: int) -> list[list[dict]]:
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for i in range(clips):
        gt = torch.zeros(frames, size, size, dtype=torch.long)
        gt[:, size // 4:size // 2, size // 3:] = 1 if metric_type == 'AVSBinaryMetric' \
            else 1 + i % max(classes - 1, 1)
        if metric_type == 'AVSBinaryMetric':
            logits = torch.randn(frames, size, size, generator=gen)
        else:
            logits = torch.randn(frames, classes, size, size, generator=gen)
        batches.append([dict(seg_logits=logits, gt_masks=gt, clip_id=f'c{i}', category='',
                             sample_idx=i, annotated_frames=[True] * frames,
                             valid_frames=[True] * frames)])
    return batches


def measure_eval(cfg: Any, frames: int = 200, size: int = 224,
                 clip_frames: int | None = None) -> dict[str, Any]:
    """Seconds per 1,000 frames of the config's ``test_evaluator`` (``process`` of every
    clip plus ``compute_metrics``; making the predictions is not timed)."""
    from mmengine.registry import DefaultScope

    from catravs.registry import METRICS
    metric_cfg = copy.deepcopy(cfg['test_evaluator'])
    metric_cfg = metric_cfg.to_dict() if hasattr(metric_cfg, 'to_dict') else dict(metric_cfg)
    with DefaultScope.overwrite_default_scope(SCOPE):
        metric = METRICS.build(metric_cfg)
    t = clip_frames or int(cfg.get('num_frames', None) or 5)
    classes = int(cfg['model'].get('num_classes', 1))
    batches = _eval_samples(metric_cfg['type'], max(1, frames // t), t, size, classes, 0)
    start = time.perf_counter()
    for batch in batches:
        metric.process(None, batch)
    metrics = metric.compute_metrics(metric.results)
    seconds = time.perf_counter() - start
    scored = len(batches) * t
    return dict(task='eval', metric=metric_cfg['type'], frames=scored, size=size,
                classes=classes, seconds=seconds, s_per_1000_frames=1000 * seconds / scored,
                values={k: float(v) for k, v in metrics.items()})
