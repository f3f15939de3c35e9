"""Audio - masked-visual matching loss (AVSBench's Loss_AVM_AV, KL form)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from catravs.registry import MODELS

from .base_loss import BaseLoss

MaskMode = Literal['sigmoid', 'argmax']
FrameReduction = Literal['sum', 'mean']


@MODELS.register_module()
class AudioVisualMatchingLoss(BaseLoss):
    """KL between each frame's audio feature and its predicted-foreground visual feature.

    ``forward(logits[N, K, H, W], v_maps: list of Tensor[N, C, h_s, w_s], audio_keys: list
    of Tensor[N, C], weights[N]) -> Tensor[]``. For each stage s in ``stages``:

    - the foreground mask at the stage size: ``mask='sigmoid'`` (binary, K = 1):
      ``sigmoid(avg_pool_{h_s, w_s}(logits))``, differentiable; ``'argmax'`` (semantic):
      ``avg_pool_{h_s, w_s}(argmax_k logits != 0)``, no gradient;
    - ``v_n = mean_{hw}(v_map_s * mask)`` ``[N, C]``;
    - ``kl_n = sum_c KL(softmax(a_n) || softmax(v_n))`` (``kl_div(softmax(v).log(),
      softmax(a))``, the released form, which lets the gradient reach ``a`` too);
    - ``frames='sum'``: ``sum_n w_n kl_n`` (released MS3: a sum over the batch's frames);
      ``'mean'``: ``sum_n w_n kl_n / sum_n w_n`` (released AVSS).

    The result is ``loss_weight`` times the mean over the stages.

    Args:
        stages: which of the stages enter (released: 0, 1, 2, 3).
        mask: ``'sigmoid'`` or ``'argmax'``.
        frames: ``'sum'`` or ``'mean'``.
        loss_weight: lambda_1 (released: 0.5).
    """

    def __init__(self, stages: Sequence[int] = (0, 1, 2, 3), mask: MaskMode = 'sigmoid',
                 frames: FrameReduction = 'sum', loss_weight: float = 0.5) -> None:
        super().__init__()
        if mask not in ('sigmoid', 'argmax'):
            raise ValueError(f"AudioVisualMatchingLoss.mask must be 'sigmoid' or 'argmax', "
                             f'got {mask!r}')
        if frames not in ('sum', 'mean'):
            raise ValueError(f"AudioVisualMatchingLoss.frames must be 'sum' or 'mean', got "
                             f'{frames!r}')
        self.stages, self.mask, self.frames = tuple(stages), mask, frames
        self.loss_weight = loss_weight

    def stage_terms(self, logits: Tensor, v_maps: Sequence[Tensor],
                    audio_keys: Sequence[Tensor], weights: Tensor) -> list[Tensor]:
        """The unweighted term of each stage in ``stages``."""
        if self.mask == 'argmax':
            with torch.no_grad():
                foreground = (logits.argmax(1, keepdim=True) != 0).to(logits.dtype)
        weights = weights.to(logits.dtype)
        terms = []
        for s in self.stages:
            v_map, audio = v_maps[s], audio_keys[s]
            size = v_map.shape[-2:]
            if self.mask == 'sigmoid':
                mask = F.adaptive_avg_pool2d(logits, size).sigmoid()
            else:
                mask = F.adaptive_avg_pool2d(foreground, size)
            visual = (v_map * mask).mean((-2, -1))  # [N, C]
            kl = F.kl_div(visual.softmax(-1).log(), audio.softmax(-1), reduction='none').sum(-1)
            term = (kl * weights).sum()
            if self.frames == 'mean':
                term = term / weights.sum().clamp(min=1e-12)
            terms.append(term)
        return terms

    def forward(self, logits: Tensor, v_maps: Sequence[Tensor], audio_keys: Sequence[Tensor],
                weights: Tensor) -> Tensor:
        terms = self.stage_terms(logits, v_maps, audio_keys, weights)
        return self.loss_weight * torch.stack(terms).mean()
