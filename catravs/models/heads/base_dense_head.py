"""Per-pixel head: a declared interface of the 'head' category (TPAVI's decoder)."""
from catravs.registry import model_part_interface

from .base_mask_head import BaseMaskHead


@model_part_interface
class BaseDenseHead(BaseMaskHead):
    """A head that turns a feature pyramid into per-pixel logits, with no queries.

    ``forward(feats: Sequence[Tensor[N, C, h_i, w_i]], frame_scale: Tensor[N] | None = None)
    -> Tensor[N, K, H, W]`` with the levels finest first (strides 4, 8, 16, 32) and
    ``frame_scale`` a per-frame factor (0 for padded frames) applied where the method
    applies it. This is not :class:`BaseMaskHead`'s ``forward(queries, fused_video,
    backbone_feats)``: a segmentor that takes a per-pixel head declares this base class.
    Subclasses set ``num_classes`` (K).
    """
