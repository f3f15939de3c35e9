"""Base class of the 'head' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('head')
class BaseMaskHead(BaseModule):
    """A mask head: queries and pixel features to mask and class logits.

    ``forward(queries, fused_video, backbone_feats) -> (mask_logits, class_logits)``
    with queries ``Tensor[L, N, Q, C]``, fused_video ``Tensor[N, C, h, w]`` and
    the backbone levels; returns mask_logits ``Tensor[L, N, Q, H_m, W_m]`` and
    class_logits ``Tensor[L, N, Q, K + 1]``.
    """
