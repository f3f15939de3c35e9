"""Base class of the 'matcher' model-part category."""
from collections.abc import Sequence

from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('matcher')
class BaseMatcher(BaseModule):
    """An assigner of queries to ground-truth objects.

    ``forward(pred_masks, pred_logits, gt_masks, gt_labels, ...) -> (query_idx, gt_idx)``
    per clip; see the subclass for shapes. ``match_all(problems)``: the assignments of many
    problems (each a tuple of ``forward``'s arguments), in order; a subclass that solves on
    the host overrides it to move all of their costs there at once.
    """

    def match_all(self, problems: Sequence[tuple]) -> list[tuple]:
        return [self(*args) for args in problems]
