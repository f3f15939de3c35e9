"""Audio 'encoder' for embeddings computed offline (e.g. VGGish features on disk)."""
from __future__ import annotations

import torch.nn as nn
from torch import Tensor

from catravs.registry import MODELS

from .base_audio_encoder import BaseAudioEncoder

__all__ = ['PrecomputedAudioEmbedding']


@MODELS.register_module()
class PrecomputedAudioEmbedding(BaseAudioEncoder):
    """Pass precomputed embeddings through, optionally projected.

    ``forward(embedding: Tensor[N, D_in]) -> Tensor[N, D]`` (``[N, 1, D_in]`` and
    other shapes with ``D_in`` elements per slice are flattened first).

    Args:
        in_channels: D_in, checked against the input.
        out_channels: D; ``None`` (or ``in_channels``) keeps the input as it is
            (identity), otherwise a Linear(D_in, D) projects it.
        init_cfg: mmengine init config.
    """

    def __init__(self, in_channels: int = 128, out_channels: int | None = None,
                 init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = int(in_channels)
        self.out_channels = self.in_channels if out_channels is None else int(out_channels)
        self.proj: nn.Module = (nn.Identity() if self.out_channels == self.in_channels
                                else nn.Linear(self.in_channels, self.out_channels))

    def forward(self, embedding: Tensor) -> Tensor:
        """``Tensor[N, D_in]`` -> ``Tensor[N, D]``."""
        x = embedding.flatten(1) if embedding.dim() > 2 else embedding
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'PrecomputedAudioEmbedding expects [N, {self.in_channels}] '
                             f'embeddings, got {tuple(embedding.shape)}')
        return self.proj(x.float())
