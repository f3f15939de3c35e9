"""The two declared interfaces of a segmentor's ``criterion`` (category 'loss')."""
from catravs.registry import model_part_interface

from .base_loss import BaseLoss


@model_part_interface
class BaseSetCriterion(BaseLoss):
    """A loss over query sets, per clip (CATR's criterion).

    ``forward(mask_logits: list[Tensor[L, T', Q, h, w]], class_logits: list[Tensor[L,
    T', Q, K + 1]], targets: list[ClipTargets]) -> dict[str, Tensor]``: one entry per
    clip, its T' annotated frames only (:class:`catravs.models.losses.ClipTargets`:
    ``masks[G, T', h, w]``, ``labels[G]``, ``valid[T', h, w]``). Takes ``num_classes``
    (K), which the segmentor fills in.
    """


@model_part_interface
class BaseFrameCriterion(BaseLoss):
    """A per-frame loss at the label size, one clip per call (AVSegFormer's criterion).

    ``forward(logits[T, K, H, W], mask_feature[T, C', h, w], gt[T, H, W], weights[T]) ->
    dict[str, Tensor]``: the logits at the label size, an auxiliary feature map (AVSegFormer
    passes its mask feature's channel mean, C' = 1, at the label size), the labels
    (255 = ignore) and each frame's weight (1 = annotated); each term is a weighted mean
    over the frames.
    """
