"""Base class of the 'matcher' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('matcher')
class BaseMatcher(BaseModule):
    """An assigner of queries to ground-truth objects.

    ``forward(pred_masks[T', Q, h, w], pred_logits[T', Q, K + 1], gt_masks[G, T', h, w],
    gt_labels[G], valid[T', h, w]) -> (query_idx[M], gt_idx[M])`` per clip (T' annotated
    frames, G objects, M matched pairs).
    """
