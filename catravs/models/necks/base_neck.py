"""Base class of the 'neck' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('neck')
class BaseNeck(BaseModule):
    """A neck: backbone levels to levels of a common width.

    ``forward(feats: Sequence[Tensor[N, C_i, h_i, w_i]]) -> list[Tensor[N, C, h_i, w_i]]``.
    Subclasses set ``out_channels`` (C).
    """
