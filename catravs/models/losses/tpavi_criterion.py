"""TPAVI's loss: a segmentation term and the audio-visual matching term."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Optional

from torch import Tensor

from catravs.models.builder import build_model_part
from catravs.registry import MODELS
from catravs.structures import IGNORE_INDEX

from .base_criterion import BaseDenseCriterion
from .base_loss import float32_loss


@MODELS.register_module()
class TPAVICriterion(BaseDenseCriterion):
    """``forward(logits[N, K, H, W], labels[N, H, W], weights[N], v_maps, audio_keys) ->
    dict(loss_seg, loss_match)`` for N = B * T frames at the label size.

    ``weights``: 1 for the frames that the loss sees (annotated), 0 for the others.
    ``task='binary'`` (K = 1): ``seg_loss`` is a :class:`MaskBCELoss` over the weighted
    frames, each frame one mask of the pixels labelled 1 (``IGNORE_INDEX`` pixels left out):
    the mean over frames of the per-frame mean BCE (released S4: frame 0 of each clip;
    MS3: every frame). ``task='semantic'``: ``seg_loss`` takes ``(logits, labels,
    weights)`` (:class:`FrameCrossEntropyLoss`). ``matching_loss``
    (:class:`AudioVisualMatchingLoss`, or None: S4) takes ``(logits, v_maps, audio_keys,
    weights)``; ``v_maps``/``audio_keys``: per stage ``Tensor[N, C, h_s, w_s]`` /
    ``Tensor[N, C]``.
    """

    def __init__(self, seg_loss: dict, matching_loss: Optional[dict] = None,
                 task: Literal['binary', 'semantic'] = 'binary') -> None:
        super().__init__()
        if task not in ('binary', 'semantic'):
            raise ValueError(f"TPAVICriterion.task must be 'binary' or 'semantic', got {task!r}")
        self.task = task
        self.seg_loss = build_model_part(seg_loss, 'loss', 'model.criterion.seg_loss')
        self.matching_loss = None if matching_loss is None else build_model_part(
            matching_loss, 'loss', 'model.criterion.matching_loss')

    @float32_loss
    def forward(self, logits: Tensor, labels: Tensor, weights: Tensor,
                v_maps: Sequence[Tensor], audio_keys: Sequence[Tensor]) -> dict[str, Tensor]:
        if self.task == 'binary':
            frames = weights.nonzero().flatten()
            gt = labels[frames].flatten(1)
            seg = self.seg_loss(logits[frames, 0].flatten(1), (gt == 1).to(logits.dtype),
                                gt != IGNORE_INDEX, max(len(frames), 1))
        else:
            seg = self.seg_loss(logits, labels, weights)
        losses = dict(loss_seg=seg)
        if self.matching_loss is not None:
            losses['loss_match'] = self.matching_loss(logits, v_maps, audio_keys, weights)
        return losses


__all__ = ['TPAVICriterion']
