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

from ..functional.semantic import (
    semantic_iou_fscore_from_labels,
    semantic_per_class,
    semantic_pred_labels,
)
from .clip_records import clip_meta, order_records, scored_frames, valid_frames
from .text_table import format_table


@METRICS.register_module()
class AVSSemanticMetric(BaseMetric):
    """AVSBench-semantic's mIoU and F-measure over K+1 classes (background included).

    Reads ``seg_logits`` (Tensor[T, K+1, H, W]; prediction = argmax of its
    softmax) or, without it, ``pred_masks`` (LongTensor[T, H, W]), plus
    ``gt_masks`` (LongTensor[T, H, W], 255 = ignore) and the meta fields
    ``annotated_frames``, ``valid_frames``, ``category``, ``clip_id``,
    ``sample_idx``. ``process`` keeps per clip the per-class sums of IoU and F
    and the per-class frame counts (float64 [K+1] each); these sums do not
    depend on batching, so the authors' value is the dataset value.

    Scored frames: annotated and valid ones. With ``score_padding_frames``,
    also the padding frames (``valid_frames`` False) of clips shorter than T,
    against an all-``background_index`` label: the AVSBench-semantic test
    convention (5-frame v1s/v1m clips padded to 10 with black frames and
    all-background labels). Say which convention a number uses.

    Returned keys (values in [0, 1]; the evaluator adds ``prefix/``):

    * ``mIoU``: mean over all K+1 classes of (sum of per-frame IoU) /
      (frames where the class is in the prediction or the label); a class
      that never occurs counts 0.
    * ``F-score``: the same mean of per-frame F (beta^2 = ``beta2``).
    * with ``per_class_results``: ``IoU.<class>`` and ``F-score.<class>``.

    A per-class table (frames, IoU, F) is logged. Class names come from
    ``dataset_meta['classes']`` when it has K+1 entries.

    Args:
        score_padding_frames: score padding frames as all-background frames.
        background_index: label of the background class (AVSBench: 0).
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

    def __init__(self, score_padding_frames: bool = False, background_index: int = 0,
                 ignore_index: int | None = 255, num_classes: int | None = None,
                 beta2: float = 0.3, per_class_results: bool = False,
                 collect_device: str = 'gpu', prefix: str | None = None,
                 collect_dir: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.score_padding_frames = score_padding_frames
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

    def _frames(self, sample: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(BoolTensor[T] frames to score, LongTensor[T, H, W] their labels)."""
        gt = sample['gt_masks'].long()
        use = scored_frames(sample, gt.shape[0])
        if self.score_padding_frames:
            padding = ~valid_frames(sample, gt.shape[0])
            gt = gt.clone()
            gt[padding.to(gt.device)] = self.background_index
            use = use | padding
        return use, gt

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Per-class IoU / F sums and counts of each clip's scored frames."""
        for sample in data_samples:
            use, gt = self._frames(sample)
            if 'seg_logits' in sample:
                scores = sample['seg_logits']
                pred = semantic_pred_labels(scores[use.to(scores.device)])
                num_classes = scores.shape[1]
            else:
                pred = sample['pred_masks'][use.to(sample['pred_masks'].device)]
                num_classes = self._num_classes()
            gt = gt[use.to(gt.device)].to(pred.device)
            iou_sum, f_sum, count = semantic_iou_fscore_from_labels(
                pred, gt, num_classes, self.beta2, self.ignore_index)
            self.results.append(dict(
                **clip_meta(sample), num_frames=int(use.sum()),
                iou_sum=iou_sum.cpu().numpy(), fscore_sum=f_sum.cpu().numpy(),
                count=count.cpu().numpy()))

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Reduce the clip records; see the class docstring for the keys."""
        records = order_records(results)
        if not records:
            return {'mIoU': 0.0, 'F-score': 0.0}
        sizes = {len(r['count']) for r in records}
        if len(sizes) != 1:
            raise ValueError(f'clips were scored with different class counts: {sorted(sizes)}')

        def total(key: str) -> torch.Tensor:
            return torch.from_numpy(np.sum([r[key] for r in records], axis=0))

        count = total('count')
        iou = semantic_per_class(total('iou_sum'), count)
        fscore = semantic_per_class(total('fscore_sum'), count)
        names = self._class_names(len(count))
        rows = [[n, int(c), 100 * float(i), 100 * float(f)]
                for n, c, i, f in zip(names, count, iou, fscore)]
        convention = 'with' if self.score_padding_frames else 'without'
        print_log(f'\nper-class results (x100; {convention} padding frames; '
                  f'{sum(r["num_frames"] for r in records)} frames):\n'
                  + format_table(['class', 'frames', 'IoU', 'F-score'], rows), logger='current')
        metrics = OrderedDict([('mIoU', float(iou.mean())), ('F-score', float(fscore.mean()))])
        if self.per_class_results:
            for n, i, f in zip(names, iou, fscore):
                metrics[f'IoU.{n}'] = float(i)
                metrics[f'F-score.{n}'] = float(f)
        return dict(metrics)
