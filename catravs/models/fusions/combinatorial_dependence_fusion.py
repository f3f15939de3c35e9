"""CATR's combinatorial-dependence fusion encoder."""
from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange
from torch import Tensor

from catravs.models.utils import EncoderLayer, frame_position_embedding
from catravs.registry import MODELS

from .base_fusion import BaseTokenFusion
from .block_gate import BlockGate, conv_bn_prelu
from .fusion_output import FusionOutput
from .temporal_block import TemporalBlock


@MODELS.register_module()
class CombinatorialDependenceFusion(BaseTokenFusion):
    """Decoupled audio-visual transformer with a spatial and a temporal branch.

    * Spatial branch: per frame, ``[h*w video ; T audio]`` tokens pass
      ``num_layers`` post-norm encoder layers (audio tokens get zero position
      embedding). Its output is the memory the query decoder reads.
    * Temporal branch: ``num_layers`` :class:`TemporalBlock`; video tokens of all
      frames attend to the clip's audio and back, so a sound at time t can pick
      an object at time t'.
    * Block-wise gate: consecutive block outputs are merged by
      :class:`BlockGate`, so stacking blocks keeps one map in memory.

    ``forward(video[B, T, C, h, w], video_pos[B, T, C, h, w], audio[B, T, C])
    -> FusionOutput(video[B*T, C, h, w], memory[B*T, h*w + T, C], memory_pos)``.

    Args:
        d_model: C.
        nhead: attention heads.
        num_layers: N_e, spatial layers and temporal blocks.
        dim_feedforward: FFN width of the spatial layers (authors: 2048).
        temporal_feedforward: FFN width of the temporal blocks (authors: 256).
        dropout: dropout in all layers.
        use_spatial / use_temporal / use_gate: ablation switches. Without the
            spatial branch the temporal branch's last tokens are the memory;
            without the temporal branch the spatial branch's video tokens are
            the fused video; without the gate the last block's output is used.
        frame_pos: add the sine embedding of the frame index (:func:`frame_position_embedding`)
            to the position of every video token of frame t and of audio token t, so
            that attention can pair a frame with its own second of audio. Off (as the
            authors): the audio tokens have no position and every frame's video tokens
            the same one, so frame t cannot tell which of the T audio tokens is its own.
    """

    def __init__(self, d_model: int = 256, nhead: int = 8, num_layers: int = 3,
                 dim_feedforward: int = 2048, temporal_feedforward: int = 256,
                 dropout: float = 0.1, use_spatial: bool = True, use_temporal: bool = True,
                 use_gate: bool = True, frame_pos: bool = False, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.frame_pos = frame_pos
        if not (use_spatial or use_temporal):
            raise ValueError('CombinatorialDependenceFusion needs at least one branch')
        self.use_spatial, self.use_temporal, self.use_gate = use_spatial, use_temporal, use_gate
        if use_spatial:
            self.spatial_layers = nn.ModuleList(
                EncoderLayer(d_model, nhead, dim_feedforward, dropout) for _ in range(num_layers))
        if use_temporal:
            self.temporal_blocks = nn.ModuleList(
                TemporalBlock(d_model, nhead, temporal_feedforward, dropout,
                              update_audio=(i < num_layers - 1 or not use_spatial))
                for i in range(num_layers))
            if use_gate:
                self.first_out = conv_bn_prelu(d_model)
                self.gates = nn.ModuleList(BlockGate(d_model) for _ in range(num_layers - 1))

    def forward(self, video: Tensor, video_pos: Tensor, audio: Tensor) -> FusionOutput:
        b, t, c, h, w = video.shape
        tokens = rearrange(video, 'b t c h w -> b t (h w) c')
        pos = rearrange(video_pos, 'b t c h w -> b t (h w) c')
        clip_audio = audio[:, None].expand(b, t, t, c)  # each frame sees all T audio tokens
        audio_pos = torch.zeros_like(audio)  # [B, T, C]; the authors': no position
        if self.frame_pos:
            time = frame_position_embedding(t, c, device=video.device).to(video.dtype)
            pos = pos + time[None, :, None]
            audio_pos = audio_pos + time
        clip_audio_pos = audio_pos[:, None].expand(b, t, t, c)
        memory_pos = torch.cat([pos, clip_audio_pos], dim=2).flatten(0, 1)

        memory = None
        if self.use_spatial:
            memory = torch.cat([tokens, clip_audio], dim=2).flatten(0, 1)  # [N, h*w + T, C]
            for layer in self.spatial_layers:
                memory = layer(memory, memory_pos)

        if not self.use_temporal:
            fused = rearrange(memory[:, :h * w], 'n (h w) c -> n c h w', h=h)
            return FusionOutput(fused, memory, memory_pos)

        v, a, fused = tokens, audio, None
        for i, block in enumerate(self.temporal_blocks):
            v, a = block(v, a, pos, audio_pos)
            out = rearrange(v, 'b t (h w) c -> (b t) c h w', h=h)
            if not self.use_gate:
                fused = out
            elif i == 0:
                fused = self.first_out(out)
            else:
                fused = self.gates[i - 1](fused, out)
        if memory is None:  # temporal-only: the last block's tokens are the memory
            memory = torch.cat([v, a[:, None].expand(b, t, t, c)], dim=2).flatten(0, 1)
        return FusionOutput(fused, memory, memory_pos)
