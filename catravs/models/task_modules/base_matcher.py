"""Base class of the 'matcher' model-part category."""
from collections.abc import Sequence

from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('matcher')
class BaseMatcher(BaseModule):
    """An assigner of queries to ground-truth objects.

    ``forward(pred_masks[T', Q, h, w], pred_logits[T', Q, K + 1], gt_masks[G, T', h, w],
    gt_labels[G], valid[T', h, w]) -> (query_idx[M], gt_idx[M])`` per clip (T' annotated
    frames, G objects, M matched pairs). ``match_all(problems)``: the assignments of many
    problems (each a tuple of ``forward``'s arguments), in order; a subclass that solves on
    the host overrides it to move all of their costs there at once.
    """

    def match_all(self, problems: Sequence[tuple]) -> list[tuple]:
        return [self(*args) for args in problems]
