"""AVSegFormer's audio-conditioned query generator."""
from __future__ import annotations

import torch.nn as nn
from torch import Tensor

from catravs.models.utils import DecoderLayer

__all__ = ['AudioQueryGenerator']


class AudioQueryGenerator(nn.Module):
    """Learned queries that read the frame's audio token through attention layers.

    Each layer (a :class:`DecoderLayer` without dropout, GELU FFN, attention without
    biases): self-attention of the queries, cross-attention to the audio tokens, FFN;
    post-norm. ``forward(audio[N, A, C]) -> Tensor[N, Q, C]`` (A = 1 audio token per frame).
    """

    def __init__(self, num_queries: int = 300, d_model: int = 256, nhead: int = 8,
                 num_layers: int = 6, dim_feedforward: int = 1024) -> None:
        super().__init__()
        self.query = nn.Embedding(num_queries, d_model)
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, nhead, dim_feedforward, dropout=0.0, activation='gelu',
                         attn_bias=False) for _ in range(num_layers))
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, audio: Tensor) -> Tensor:
        query = self.query.weight[None].expand(audio.shape[0], -1, -1)
        for layer in self.layers:
            query = layer(query, audio)
        return query
