"""Base class of the 'decoder' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('decoder')
class BaseQueryDecoder(BaseModule):
    """A query decoder: queries read the fused memory.

    ``forward(memory[N, S, C], memory_pos[N, S, C] or None, audio[N, C],
    memory_padding_mask=None) -> Tensor[L, N, Q, C]`` with N = B * T frames, S tokens,
    ``memory_pos`` their position embedding (None: the method has none, e.g.
    AVSegFormer) and ``audio`` the frame's audio token (for audio-initialised queries);
    returns the queries after each of the L decoder layers.
    """
