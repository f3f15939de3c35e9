"""Base class of the 'head' model-part category and its two declared interfaces."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category, model_part_interface


@model_part_category('head')
class BaseMaskHead(BaseModule):
    """A mask head: decoded queries and pixel features to mask logits.

    Heads are called in one of two ways, each a declared interface that a segmentor
    requires of its ``head`` field: :class:`BasePerQueryMaskHead` (CATR: one mask and
    one class per query, for set matching) and :class:`BaseQueryMixingHead`
    (AVSegFormer: the queries mixed into one map per class). Subclass one of them.
    """


@model_part_interface
class BasePerQueryMaskHead(BaseMaskHead):
    """Per-query masks and classes from every decoder layer (CATR's head).

    ``forward(queries[L, N, Q, C], fused_video[N, C, h, w], feats) -> (mask_logits[L, N,
    Q, H_m, W_m], class_logits[L, N, Q, K + 1])``, with ``feats`` the neck's levels
    (``[N, C, h_i, w_i]`` each) and K + 1 the classes plus "no object". Takes
    ``num_classes`` (K), which the segmentor fills in.
    """


@model_part_interface
class BaseQueryMixingHead(BaseMaskHead):
    """One map per class from the last decoder layer's queries (AVSegFormer's head).

    ``forward(queries[N, Q, C], mask_feature[N, C, h, w]) -> Tensor[N, K, H_m, W_m]``:
    K = 1 mask logit (binary) or K class scores (semantic). Takes ``num_classes`` (K),
    which the segmentor fills in.
    """
