"""Base class of the 'audio_encoder' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('audio_encoder')
class BaseAudioEncoder(BaseModule):
    """An audio encoder: one audio slice per frame to one embedding.

    ``forward(audio: Tensor[N, ...]) -> Tensor[N, D]`` with N = B * T slices; the
    input is a VGGish log-mel example ``[N, 1, 96, 64]`` or a precomputed
    embedding ``[N, D_in]``. Subclasses set ``out_channels`` (D).
    """
