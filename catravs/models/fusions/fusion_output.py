"""What a fusion module hands to the decoder and the mask head."""
from dataclasses import dataclass

from torch import Tensor


@dataclass
class FusionOutput:
    """Output of a fusion module (N = B * T frames, C channels).

    Attributes:
        video: ``Tensor[N, C, h, w]`` fused video features at the token grid,
            read by the mask head.
        memory: ``Tensor[N, S, C]`` the tokens the query decoder attends to
            (CATR: the h*w video tokens and the T audio tokens of the clip).
        memory_pos: ``Tensor[N, S, C]`` position embedding of ``memory``.
    """

    video: Tensor
    memory: Tensor
    memory_pos: Tensor
