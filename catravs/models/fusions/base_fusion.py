"""Base class of the 'fusion' model-part category and its two declared interfaces."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category, model_part_interface


@model_part_category('fusion')
class BaseFusion(BaseModule):
    """An audio-visual fusion module.

    Fusions are called in one of two ways, each a declared interface that a segmentor
    requires of its ``fusion`` field: :class:`BaseTokenFusion` (CATR: video and audio
    tokens of a whole clip to a fused map and a memory for the query decoder) and
    :class:`BaseFeatureMapFusion` (AVSegFormer: a per-frame feature map modulated by
    the frame's audio). Subclass one of them.
    """


@model_part_interface
class BaseTokenFusion(BaseFusion):
    """Audio-video token fusion over a clip (CATR's fusion).

    ``forward(video[B, T, C, h, w], video_pos[B, T, C, h, w], audio[B, T, C]) ->
    FusionOutput(video[N, C, h, w], memory[N, S, C], memory_pos[N, S, C])``: the
    stride-8 video tokens, their position embedding and one projected audio token per
    frame; S (the memory's length) is the fusion's choice. See
    :class:`catravs.models.fusions.FusionOutput`.
    """


@model_part_interface
class BaseFeatureMapFusion(BaseFusion):
    """A feature map modulated by its frame's audio (AVSegFormer's fusion).

    ``forward(feature_map[N, C, h, w], audio[N, 1, C] or [N, C]) -> Tensor[N, C, h, w]``
    with N = B*T frames in clip order (a fusion that mixes the frames of a clip takes T
    as a constructor argument).
    """
