"""CATR's fusion encoder exactly as the released code computes it."""
from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange
from torch import Tensor

from catravs.models.utils import EncoderLayer, checkpointed
from catravs.registry import MODELS

from .base_fusion import BaseTokenFusion
from .fusion_output import FusionOutput
from .released_block_gate import ReleasedBlockGate
from .released_temporal_layer import ReleasedTemporalLayer


@MODELS.register_module()
class ReleasedCATRFusion(BaseTokenFusion):
    """The released ``MultimodalTransformer`` encoders: spatial branch, temporal branch, gate.

    Both branches start from the same per-frame sequence ``[h*w video ; T audio]``
    (the clip's T audio tokens in every frame, zero position for audio):

    * spatial branch: ``num_layers`` post-norm encoder layers per frame; the
      output is the memory that the query decoder reads;
    * temporal branch: ``num_layers`` :class:`ReleasedTemporalLayer` (video of
      all T frames <-> the clip's audio, multiplicative updates);
    * :class:`ReleasedBlockGate` merges the three temporal outputs into the
      fused video that the mask head reads.

    ``forward(video[B, T, C, h, w], video_pos[B, T, C, h, w], audio[B, T, C])
    -> FusionOutput(video[B*T, C, h, w], memory[B*T, h*w + T, C], memory_pos)``.

    Args:
        d_model, nhead: sizes (released: 256, 8).
        num_layers: N_e; the released gate reads exactly three temporal outputs,
            so it must be 3.
        dim_feedforward: FFN width of the spatial layers (2048).
        temporal_feedforward: FFN width of the temporal layers: the yaml's
            ``dim_feedforward`` reaches them through ``**kwargs`` (2048 with MTTR's
            yaml, the fixture's value); 256 if the yaml lacks it.
        dropout: dropout of the encoder layers (0.1).
        with_cp: activation checkpointing of each layer (saves memory in training,
            costs a second forward of the layer).

    Initialisation as released (``MultimodalTransformer._reset_parameters``):
    Xavier-uniform for every parameter with more than one dimension.
    """

    def __init__(self, d_model: int = 256, nhead: int = 8, num_layers: int = 3,
                 dim_feedforward: int = 2048, temporal_feedforward: int = 2048,
                 dropout: float = 0.1, with_cp: bool = False, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers != 3:
            raise ValueError('ReleasedCATRFusion: the released gate merges exactly three '
                             f'temporal layers, so num_layers must be 3, got {num_layers}')
        self.with_cp = with_cp
        self.spatial_layers = nn.ModuleList(
            EncoderLayer(d_model, nhead, dim_feedforward, dropout) for _ in range(num_layers))
        self.temporal_layers = nn.ModuleList(
            ReleasedTemporalLayer(d_model, nhead, temporal_feedforward, dropout,
                                  update_audio=i < num_layers - 1)
            for i in range(num_layers))
        self.gate = ReleasedBlockGate(d_model)
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)

    def forward(self, video: Tensor, video_pos: Tensor, audio: Tensor) -> FusionOutput:
        b, t, c, h, w = video.shape
        tokens = rearrange(video, 'b t c h w -> b t (h w) c')
        pos = rearrange(video_pos, 'b t c h w -> b t (h w) c')
        clip_audio = audio[:, None].expand(b, t, t, c)
        seq = torch.cat([tokens, clip_audio], dim=2)  # [B, T, h*w + T, C]
        seq_pos = torch.cat([pos, torch.zeros_like(clip_audio)], dim=2)

        memory, memory_pos = seq.flatten(0, 1), seq_pos.flatten(0, 1)
        for layer in self.spatial_layers:
            memory = checkpointed(layer, memory, memory_pos, enabled=self.with_cp)

        clip_pos = rearrange(pos, 'b t s c -> b (t s) c')
        blocks = []
        for layer in self.temporal_layers:
            out, seq = checkpointed(layer, seq, seq_pos, clip_pos, enabled=self.with_cp)
            blocks.append(rearrange(out, 'b (t h w) c -> (b t) c h w', t=t, h=h))
        return FusionOutput(self.gate(*blocks), memory, memory_pos)
