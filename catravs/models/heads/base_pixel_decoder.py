"""Base class of the 'pixel_decoder' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('pixel_decoder')
class BasePixelDecoder(BaseModule):
    """Turns the fused video and the neck's levels into per-pixel mask features.

    ``forward(fused_video[N, C, h8, w8], feats=[s4, s8, s16, s32] each [N, C, h_i, w_i])
    -> Tensor[N, mask_dim, H_m, W_m]``. Built by a mask head, which passes
    ``channels`` (C) and ``mask_dim``.
    """
