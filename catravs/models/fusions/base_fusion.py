"""Base class of the 'fusion' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('fusion')
class BaseFusion(BaseModule):
    """An audio-visual fusion module.

    ``forward(video, video_pos, audio) -> FusionOutput`` with
    video, video_pos: ``Tensor[B, T, C, h, w]`` (stride-8 tokens and their
    position embedding) and audio: ``Tensor[B, T, C]`` (projected audio, one
    token per frame). See :class:`catravs.models.fusions.FusionOutput`.
    """
