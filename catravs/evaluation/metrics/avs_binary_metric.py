"""J and F of binary audio-visual segmentation (AVSBench S4 / MS3)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from catravs.registry import METRICS

from ..functional.binary import binary_fscore_curves, binary_jaccard, fscore_of_curves
from .clip_records import clip_meta, order_records, scored_frames
from .text_table import format_table


@METRICS.register_module()
class AVSBinaryMetric(BaseMetric):
    """AVSBench's J (mIoU) and F-measure for S4 / MS3.

    Reads, from each data sample dict, ``seg_logits`` (Tensor[T, H, W] mask
    logits), ``gt_masks`` (Tensor[T, H, W], 0/1) and the meta fields
    ``annotated_frames``, ``valid_frames``, ``category``, ``clip_id`` and
    ``sample_idx``. Only frames that are annotated and valid are scored;
    clips without such a frame are left out of every value.
    ``process`` keeps one small record per clip: the per-frame J values and
    the sum of the F curves of its frames with a non-empty ground truth.

    Returned keys (values in [0, 1]; the evaluator adds ``prefix/``):

    * ``mIoU``: J, the mean over all scored frames of the per-frame IoU
      (empty-gt frames score TN / (H*W)). Equal to the authors' value, which
      averages per-batch means, whenever their batches hold equally many
      frames (always at their test batch size of 1 clip).
    * ``F-score``: F the authors' way: clips, in dataset order, are grouped
      ``fscore_batch_size`` at a time (independent of the real dataloader
      batch size); a group's F is the maximum over thresholds of the mean
      per-frame F curve of its frames with a non-empty gt (0 if there is
      none); the value is the mean over groups. AVSBench and CATR test with
      one clip per batch, hence the default 1.
    * ``F-score(dataset)``: the batch-independent F: the mean F curve over
      every scored frame of the dataset with a non-empty gt, maximised over
      thresholds.
    * with ``per_category_results``: ``mIoU.<category>`` and
      ``F-score.<category>`` (the dataset-level F of the category).

    A per-category table (clips, frames, mIoU, dataset-level F) is logged
    when the clips carry a category (S4).

    Args:
        fscore_batch_size: clips per group of the authors' F.
        beta2: beta squared of the F-measure.
        num_thresholds: thresholds of the F curve.
        per_category_results: also return per-category values.
        collect_device: how ranks send their records to rank 0. ``'gpu'``
            (MMEngine's name for it) gathers them through the process group,
            NCCL or gloo, so it also works on CPUs and needs no shared folder
            between nodes; ``'cpu'`` goes through ``collect_dir``, a folder
            that every rank must see.
        prefix, collect_dir: see ``BaseMetric``.
    """

    default_prefix = None  # keys as AVSBench names them: mIoU, F-score

    def __init__(self, fscore_batch_size: int = 1, beta2: float = 0.3,
                 num_thresholds: int = 255, per_category_results: bool = False,
                 collect_device: str = 'gpu', prefix: str | None = None,
                 collect_dir: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if fscore_batch_size < 1:
            raise ValueError(f'fscore_batch_size must be >= 1, got {fscore_batch_size}')
        self.fscore_batch_size = fscore_batch_size
        self.beta2 = beta2
        self.num_thresholds = num_thresholds
        self.per_category_results = per_category_results

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Score the annotated frames of each clip and keep one record per clip."""
        for sample in data_samples:
            if 'seg_logits' not in sample:
                raise KeyError(f"clip '{sample.get('clip_id')}' has no seg_logits: the F-measure "
                               'of AVSBinaryMetric needs mask logits [T, H, W]')
            logits, gt = sample['seg_logits'], sample['gt_masks']
            if logits.dim() == 4 and logits.shape[1] == 1:
                logits = logits[:, 0]
            if logits.shape != gt.shape:
                raise ValueError(f"clip '{sample.get('clip_id')}': seg_logits "
                                 f'{tuple(logits.shape)} and gt_masks {tuple(gt.shape)} differ')
            keep = scored_frames(sample, gt.shape[0]).to(gt.device)
            logits, gt = logits[keep.to(logits.device)], gt[keep].to(logits.device)
            curves = binary_fscore_curves(logits, gt, self.beta2, self.num_thresholds)
            self.results.append(dict(
                **clip_meta(sample),
                ious=binary_jaccard(logits, gt).double().cpu().numpy(),
                f_curve_sum=curves.double().sum(0).cpu().numpy(),
                num_fg=int(curves.shape[0])))

    def _dataset_fscore(self, records: Sequence[dict]) -> float:
        if not records:
            return 0.0
        curve_sum = torch.from_numpy(np.sum([r['f_curve_sum'] for r in records], axis=0))
        return fscore_of_curves(curve_sum, sum(r['num_fg'] for r in records))

    def _batched_fscore(self, records: Sequence[dict]) -> float:
        size = self.fscore_batch_size
        groups = [records[i:i + size] for i in range(0, len(records), size)]
        if not groups:
            return 0.0
        return float(np.mean([self._dataset_fscore(g) for g in groups]))

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Reduce the clip records; see the class docstring for the keys."""
        records = [r for r in order_records(results) if len(r['ious'])]
        ious = np.concatenate([r['ious'] for r in records]) if records else np.zeros(0)
        metrics = OrderedDict([
            ('mIoU', float(ious.mean()) if ious.size else 0.0),
            ('F-score', self._batched_fscore(records)),
            ('F-score(dataset)', self._dataset_fscore(records)),
        ])
        per_category = self._per_category(records)
        if per_category:
            rows = [[c, v['clips'], v['frames'], 100 * v['mIoU'], 100 * v['F-score']]
                    for c, v in per_category.items()]
            print_log('\nper-category results (x100, F dataset-level):\n' + format_table(
                ['category', 'clips', 'frames', 'mIoU', 'F-score'], rows), logger='current')
            if self.per_category_results:
                for c, v in per_category.items():
                    metrics[f'mIoU.{c}'] = v['mIoU']
                    metrics[f'F-score.{c}'] = v['F-score']
        return dict(metrics)

    def _per_category(self, records: Sequence[dict]) -> dict[str, dict]:
        by_category: dict[str, list] = {}
        for r in records:
            by_category.setdefault(r['category'], []).append(r)
        if not any(by_category):
            return {}
        out = {}
        for category in sorted(by_category):
            group = by_category[category]
            ious = np.concatenate([r['ious'] for r in group])
            out[category] = {'clips': len(group), 'frames': int(ious.size),
                             'mIoU': float(ious.mean()), 'F-score': self._dataset_fscore(group)}
        return out
