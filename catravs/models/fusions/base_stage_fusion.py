"""Per-stage audio-visual fusion: a declared interface of the 'fusion' category (TPAVI's)."""
from catravs.registry import model_part_interface

from .base_fusion import BaseFusion


@model_part_interface
class BaseStageFusion(BaseFusion):
    """A fusion applied to one pyramid level of per-frame features, with one audio
    embedding per frame, and no position embedding.

    ``forward(video: Tensor[N, C, h, w], audio: Tensor[N, D_a]) -> (fused: Tensor[N, C, h,
    w], audio_key: Tensor[N, C])`` with N = B * T frames in clip order; ``audio_key`` is the
    audio as the block projected it (what an audio-visual matching loss compares with the
    video). This is not :class:`BaseFusion`'s ``forward(video, video_pos, audio) ->
    FusionOutput``: a segmentor that takes per-stage fusions declares this base class.
    """
