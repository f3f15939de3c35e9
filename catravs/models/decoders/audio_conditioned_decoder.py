"""AVSegFormer's decoder: audio-conditioned queries read the encoder's memory."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from catravs.models.utils import DecoderLayer
from catravs.registry import MODELS

from .audio_query_generator import AudioQueryGenerator
from .base_decoder import BaseQueryDecoder

__all__ = ['AudioConditionedDecoder']


@MODELS.register_module()
class AudioConditionedDecoder(BaseQueryDecoder):
    """Queries from :class:`AudioQueryGenerator` plus learned queries, then DETR decoder
    layers with dense cross-attention to the memory (no position embeddings).

    ``forward(memory[N, S, C], memory_pos (ignored, may be None), audio[N, A, C] or
    [N, C], memory_padding_mask[N, S] = None) -> Tensor[L, N, Q, C]``: the queries after
    each of the L layers (no final norm).

    Args:
        num_queries: Q (released: 300).
        d_model, nhead, num_layers, dim_feedforward, dropout: the decoder layers
            (released: 256, 8, 6, 2048, 0.1; GELU FFN).
        query_generator: kwargs of :class:`AudioQueryGenerator` (released: 6 layers,
            FFN 1024).
        learnable_queries: add learned queries to the generated ones (released: True).
    """

    def __init__(self, num_queries: int = 300, d_model: int = 256, nhead: int = 8,
                 num_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 query_generator: Optional[dict] = None, learnable_queries: bool = True,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.query_generator = AudioQueryGenerator(num_queries, d_model, nhead,
                                                   **(query_generator or {}))
        self.learnable_query = nn.Embedding(num_queries, d_model) if learnable_queries else None
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, nhead, dim_feedforward, dropout, activation='gelu')
            for _ in range(num_layers))
        for p in self.layers.parameters():  # the released head's Xavier init
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        if self.learnable_query is not None:
            nn.init.xavier_uniform_(self.learnable_query.weight)

    def forward(self, memory: Tensor, memory_pos: Optional[Tensor], audio: Tensor,
                memory_padding_mask: Optional[Tensor] = None) -> Tensor:
        if audio.dim() == 2:
            audio = audio[:, None]
        query = self.query_generator(audio)
        if self.learnable_query is not None:
            query = query + self.learnable_query.weight[None]
        outputs = []
        for layer in self.layers:
            query = layer(query, memory, memory_padding_mask=memory_padding_mask)
            outputs.append(query)
        return torch.stack(outputs)
