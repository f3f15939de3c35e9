"""CATR's audio-queried transformer decoder."""
from __future__ import annotations

from typing import Literal, Optional

import torch
import torch.nn as nn
from torch import Tensor

from catravs.models.utils import DecoderLayer
from catravs.registry import MODELS

from .base_decoder import BaseQueryDecoder

QueryInit = Literal['learned', 'audio']


@MODELS.register_module()
class AudioQueriedDecoder(BaseQueryDecoder):
    """DETR-style decoder whose queries read the fused audio-visual memory.

    ``forward(memory[N, S, C], memory_pos[N, S, C], audio[N, C], memory_padding_mask=None)
    -> Tensor[L, N, Q, C]``: the queries after each of the L layers, each passed
    through the shared final LayerNorm (intermediate outputs feed auxiliary losses).

    Args:
        num_queries: Q (authors: 50).
        d_model, nhead, num_layers, dim_feedforward, dropout: layer sizes
            (authors: 256, 8, N_d, 2048, 0.1).
        query_init: ``'learned'``: queries start at zero and carry learned
            position embeddings, over a memory that holds the audio tokens (the
            released code); ``'audio'``: queries start from the frame's projected
            audio token plus the learned embeddings (the paper's audio-constrained
            queries).
        xavier_init: Xavier-uniform for the layers' matrices, as the released
            ``MultimodalTransformer._reset_parameters`` (the query embeddings keep
            ``nn.Embedding``'s normal init there too).
    """

    def __init__(self, num_queries: int = 50, d_model: int = 256, nhead: int = 8,
                 num_layers: int = 3, dim_feedforward: int = 2048, dropout: float = 0.1,
                 query_init: QueryInit = 'learned', xavier_init: bool = False,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if query_init not in ('learned', 'audio'):
            raise ValueError(f"query_init must be 'learned' or 'audio', got {query_init!r}")
        self.query_init = query_init
        self.num_queries = num_queries
        self.query_pos = nn.Embedding(num_queries, d_model)
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, nhead, dim_feedforward, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        if xavier_init:
            for param in self.layers.parameters():
                if param.dim() > 1:
                    nn.init.xavier_uniform_(param)

    def forward(self, memory: Tensor, memory_pos: Tensor, audio: Tensor,
                memory_padding_mask: Optional[Tensor] = None) -> Tensor:
        n = memory.shape[0]
        query_pos = self.query_pos.weight[None].expand(n, -1, -1)
        if self.query_init == 'audio':
            tgt = audio[:, None].expand(-1, self.num_queries, -1)
        else:
            tgt = torch.zeros_like(query_pos)
        outputs = []
        for layer in self.layers:
            tgt = layer(tgt, memory, query_pos, memory_pos, memory_padding_mask)
            outputs.append(self.norm(tgt))
        return torch.stack(outputs)
