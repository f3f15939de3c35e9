"""The three declared interfaces of a segmentor's ``criterion`` (category 'loss')."""
from catravs.registry import model_part_interface

from .base_loss import BaseLoss


@model_part_interface
class BaseSetCriterion(BaseLoss):
    """A loss over query sets, per clip (CATR's criterion).

    ``forward(mask_logits: list[Tensor[L, T', Q, h, w]], class_logits: list[Tensor[L,
    T', Q, K + 1]], targets: list[ClipTargets]) -> dict[str, Tensor]``: one entry per
    clip, its T' annotated frames only (:class:`catravs.models.losses.ClipTargets`:
    ``masks[G, T', h, w]``, ``labels[G]``, ``valid[T', h, w]``). Takes ``num_classes``
    (K), which the segmentor fills in.
    """


@model_part_interface
class BaseFrameCriterion(BaseLoss):
    """A per-frame loss at the label size, one clip per call (AVSegFormer's criterion).

    ``forward(logits[T, K, H, W], mask_feature[T, C', h, w], gt[T, H, W], weights[T]) ->
    dict[str, Tensor]``: the logits at the label size, an auxiliary feature map (AVSegFormer
    passes its mask feature's channel mean, C' = 1, at the label size), the labels
    (255 = ignore) and each frame's weight (1 = annotated); each term is a weighted mean
    over the frames.
    """


@model_part_interface
class BaseDenseCriterion(BaseLoss):
    """A per-pixel loss over the frames of a batch with per-stage features (TPAVI's
    criterion).

    ``forward(logits[N, K, H, W], labels[N, H, W], weights[N], v_maps, audio_keys) ->
    dict[str, Tensor]`` for N = B*T frames at the label size: ``weights`` 1 for the frames
    the loss sees, ``v_maps`` / ``audio_keys`` per fused stage ``Tensor[N, C, h_s, w_s]`` /
    ``Tensor[N, C]`` (what an audio-visual matching term compares).
    """
