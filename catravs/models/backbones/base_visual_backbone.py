"""Base class of the 'visual_backbone' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('visual_backbone')
class BaseVisualBackbone(BaseModule):
    """A visual backbone: frames to a pyramid of feature maps.

    ``forward(x: Tensor[N, 3, H, W]) -> tuple[Tensor[N, C_i, H / s_i, W / s_i], ...]``
    with N = B * T frames. Subclasses set ``out_channels`` (one int per level)
    and ``strides`` (4, 8, 16, 32 for the four CATR levels).
    """
