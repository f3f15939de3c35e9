"""Base class of the 'matcher' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('matcher')
class BaseMatcher(BaseModule):
    """An assigner of queries to ground-truth objects.

    ``forward(pred_masks, pred_logits, gt_masks, gt_labels) -> (query_idx, gt_idx)``
    per clip; see the subclass for shapes.
    """
