"""mIoU and F of audio-visual semantic segmentation (AVSBench-semantic, AVSS)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from catravs.registry import METRICS
from catravs.structures import IGNORE_INDEX

from ..functional.semantic import (
    semantic_iou_fscore_from_labels,
    semantic_per_class,
    semantic_pred_labels,
)
from .clip_records import clip_meta, order_records, scored_frames, valid_frames
from .text_table import format_table


@METRICS.register_module()
class AVSSemanticMetric(BaseMetric):
    """AVSBench-semantic's mIoU and F-measure over K+1 classes (background included),
    under both frame conventions in one run.

    Reads ``seg_logits`` (Tensor[T, K+1, H, W]; prediction = argmax of its
    softmax) or, without it, ``pred_masks`` (LongTensor[T, H, W]), plus
    ``gt_masks`` (LongTensor[T, H, W], 255 = ignore) and the meta fields
    ``annotated_frames``, ``valid_frames``, ``category``, ``clip_id``,
    ``sample_idx``. ``process`` keeps per clip the per-class sums of IoU and F
    and the per-class frame counts (float64 [K+1] each), once for the real
    frames and once for the padding frames; these sums do not depend on
    batching, so the authors' value is the dataset value.

    Two conventions, both returned (values in [0, 1]; the evaluator adds ``prefix/``):

    * ``mIoU``, ``F-score``: **real frames only** (annotated and valid). This is
      what the model is asked to do; ``save_best='mIoU'`` selects on it.
    * ``mIoU(avsbench)``, ``F-score(avsbench)``: **AVSBench-semantic's test
      convention, the one to compare with published AVSS numbers** (AVSBench,
      CATR): the real frames plus the padding frames (``valid_frames`` False)
      of clips shorter than T (5-frame v1s/v1m clips padded to 10 with black
      frames), each scored against an all-``background_index`` label.

    Each value: mean over all K+1 classes of (sum of per-frame IoU, or F with
    beta^2 = ``beta2``) / (frames where the class is in the prediction or the
    label); a class that never occurs counts 0. With ``per_class_results``,
    also ``IoU.<class>`` and ``F-score.<class>`` (real frames only).

    Two per-class tables (frames, IoU, F) are logged, one per convention.
    Class names come from ``dataset_meta['classes']`` when it has K+1 entries.

    Args:
        background_index: label of the background class (AVSBench: 0); the
            label of padding frames in the AVSBench convention.
        ignore_index: label of ignored pixels (left out of both maps).
        num_classes: K+1; needed only when samples carry no ``seg_logits``
            and ``dataset_meta`` has no ``classes``.
        beta2: beta squared of the F-measure.
        per_class_results: also return per-class values.
        collect_device: how ranks send their records to rank 0. ``'gpu'``
            (MMEngine's name for it) gathers them through the process group,
            NCCL or gloo, so it also works on CPUs and needs no shared folder
            between nodes; ``'cpu'`` goes through ``collect_dir``, a folder
            that every rank must see.
        prefix, collect_dir: see ``BaseMetric``.
    """

    default_prefix = None  # keys as AVSBench names them: mIoU, F-score
    #: suffix of the keys that follow AVSBench's convention (padding frames scored)
    AVSBENCH_SUFFIX = '(avsbench)'

    def __init__(self, background_index: int = 0,
                 ignore_index: int | None = IGNORE_INDEX, num_classes: int | None = None,
                 beta2: float = 0.3, per_class_results: bool = False,
                 collect_device: str = 'gpu', prefix: str | None = None,
                 collect_dir: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.background_index = background_index
        self.ignore_index = ignore_index
        self.num_classes = num_classes
        self.beta2 = beta2
        self.per_class_results = per_class_results

    def _class_names(self, num_classes: int) -> list[str]:
        classes = (self.dataset_meta or {}).get('classes')
        if classes is not None and len(classes) == num_classes:
            return [str(c) for c in classes]
        return [f'class{i}' for i in range(num_classes)]

    def _num_classes(self) -> int:
        if self.num_classes is not None:
            return self.num_classes
        classes = (self.dataset_meta or {}).get('classes')
        if classes is None:
            raise ValueError('AVSSemanticMetric scoring pred_masks needs num_classes '
                             "or dataset_meta['classes']")
        return len(classes)

    def _sums(self, pred: torch.Tensor, gt: torch.Tensor, num_classes: int) -> dict:
        iou_sum, f_sum, count = semantic_iou_fscore_from_labels(
            pred, gt.to(pred.device), num_classes, self.beta2, self.ignore_index)
        return dict(num_frames=int(gt.shape[0]), iou_sum=iou_sum.cpu().numpy(),
                    fscore_sum=f_sum.cpu().numpy(), count=count.cpu().numpy())

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Per-class IoU / F sums and counts of each clip's real and padding frames."""
        for sample in data_samples:
            gt = sample['gt_masks'].long()
            real = scored_frames(sample, gt.shape[0])
            padding = ~valid_frames(sample, gt.shape[0])
            if 'seg_logits' in sample:
                scores = sample['seg_logits']
                pred = semantic_pred_labels(scores)
                num_classes = scores.shape[1]
            else:
                pred = sample['pred_masks'].long()
                num_classes = self._num_classes()
            real, padding = real.to(pred.device), padding.to(pred.device)
            pad_gt = torch.full_like(gt[padding.to(gt.device)], self.background_index)
            self.results.append(dict(
                **clip_meta(sample),
                real=self._sums(pred[real], gt[real.to(gt.device)], num_classes),
                padding=self._sums(pred[padding], pad_gt, num_classes)))

    def _reduce(self, parts: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Per-class IoU, F and frame counts, and the frame total, of the summed parts."""
        def total(key: str) -> torch.Tensor:
            return torch.from_numpy(np.sum([p[key] for p in parts], axis=0))

        count = total('count')
        return (semantic_per_class(total('iou_sum'), count),
                semantic_per_class(total('fscore_sum'), count), count,
                sum(p['num_frames'] for p in parts))

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Reduce the clip records; see the class docstring for the keys."""
        records = order_records(results)
        suffix = self.AVSBENCH_SUFFIX
        if not records:
            return {'mIoU': 0.0, 'F-score': 0.0, f'mIoU{suffix}': 0.0, f'F-score{suffix}': 0.0}
        sizes = {len(r['real']['count']) for r in records}
        if len(sizes) != 1:
            raise ValueError(f'clips were scored with different class counts: {sorted(sizes)}')
        real = [r['real'] for r in records]
        iou, fscore, count, frames = self._reduce(real)
        iou_a, fscore_a, count_a, frames_a = self._reduce(real + [r['padding'] for r in records])
        names = self._class_names(len(count))
        tables = []
        for title, n, values in (
                (f'without padding frames; {frames} frames', count, (iou, fscore)),
                (f'AVSBench convention, with padding frames as background; {frames_a} frames',
                 count_a, (iou_a, fscore_a))):
            rows = [[name, int(c), 100 * float(i), 100 * float(f)]
                    for name, c, i, f in zip(names, n, *values)]
            tables.append(f'per-class results (x100; {title}):\n'
                          + format_table(['class', 'frames', 'IoU', 'F-score'], rows))
        print_log('\n' + '\n'.join(tables), logger='current')
        metrics = OrderedDict([('mIoU', float(iou.mean())), ('F-score', float(fscore.mean())),
                               (f'mIoU{suffix}', float(iou_a.mean())),
                               (f'F-score{suffix}', float(fscore_a.mean()))])
        if self.per_class_results:
            for n, i, f in zip(names, iou, fscore):
                metrics[f'IoU.{n}'] = float(i)
                metrics[f'F-score.{n}'] = float(f)
        return dict(metrics)
