"""Base class of the 'decoder' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('decoder')
class BaseQueryDecoder(BaseModule):
    """A query decoder: queries read the fused memory.

    ``forward(memory, memory_pos, audio, memory_padding_mask=None) -> Tensor[L, N, Q, C]``
    with memory, memory_pos: ``Tensor[N, S, C]`` (N = B * T frames, S tokens),
    audio: ``Tensor[N, C]`` (the frame audio token, for audio-initialised
    queries); returns the queries after each of the L decoder layers.
    """
