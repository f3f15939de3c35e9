"""A plain cross-attention fusion baseline, in the spirit of AVSBench's TPAVI."""
from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange
from torch import Tensor

from catravs.models.utils import FFN, AttentionLayer
from catravs.registry import MODELS

from .base_fusion import BaseTokenFusion
from .fusion_output import FusionOutput

__all__ = ['CrossAttentionFusion']


class _CrossAttentionLayer(nn.Module):
    """Video tokens read audio tokens: attention + residual + LayerNorm, then an FFN.

    ``forward(video[B, S, C], audio[B, T, C], video_pos[B, S, C]) -> Tensor[B, S, C]``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float) -> None:
        super().__init__()
        self.cross_attn = AttentionLayer(d_model, nhead, dropout)
        self.ffn = FFN(d_model, dim_feedforward, dropout) if dim_feedforward > 0 else None

    def forward(self, video: Tensor, audio: Tensor, video_pos: Tensor) -> Tensor:
        video = self.cross_attn(video, audio, video_pos, None)
        return video if self.ffn is None else self.ffn(video)


@MODELS.register_module()
class CrossAttentionFusion(BaseTokenFusion):
    """Video tokens of the whole clip cross-attend the clip's audio tokens.

    A baseline without CATR's decoupled branches and gates: the ``T*h*w`` video
    tokens of a clip (with their position embedding added to the queries) attend
    to its T audio tokens, as AVSBench's TPAVI lets every spatio-temporal
    position read the audio of every frame; the result is added back to the
    tokens and normalised (post-norm), then an FFN (``dim_feedforward=0``: none).
    This repeats ``num_layers`` times. Audio tokens are not updated.

    ``forward(video[B, T, C, h, w], video_pos[B, T, C, h, w], audio[B, T, C])
    -> FusionOutput(video[B*T, C, h, w], memory[B*T, h*w + T, C], memory_pos[B*T, h*w + T, C])``:
    the memory of frame t is its fused video tokens followed by the clip's T
    audio tokens (audio positions are zero), as the query decoder of CATR reads.

    Args:
        d_model: C.
        nhead: attention heads.
        num_layers: cross-attention layers.
        dim_feedforward: FFN width after each cross-attention (0: no FFN).
        dropout: dropout in all layers.
    """

    def __init__(self, d_model: int = 256, nhead: int = 8, num_layers: int = 1,
                 dim_feedforward: int = 2048, dropout: float = 0.1, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'CrossAttentionFusion needs num_layers >= 1, got {num_layers}')
        self.layers = nn.ModuleList(
            _CrossAttentionLayer(d_model, nhead, dim_feedforward, dropout)
            for _ in range(num_layers))

    def forward(self, video: Tensor, video_pos: Tensor, audio: Tensor) -> FusionOutput:
        b, t, c, h, w = video.shape
        if audio.shape != (b, t, c):
            raise ValueError(f'CrossAttentionFusion expects audio [B, T, C] = [{b}, {t}, {c}], '
                             f'got {tuple(audio.shape)}')
        tokens = rearrange(video, 'b t c h w -> b t (h w) c')
        pos = rearrange(video_pos, 'b t c h w -> b t (h w) c')
        v = rearrange(tokens, 'b t s c -> b (t s) c')
        v_pos = rearrange(pos, 'b t s c -> b (t s) c')
        for layer in self.layers:
            v = layer(v, audio, v_pos)
        v = rearrange(v, 'b (t s) c -> b t s c', t=t)
        fused = rearrange(v, 'b t (h w) c -> (b t) c h w', h=h)
        clip_audio = audio[:, None].expand(b, t, t, c)  # every frame sees the clip's audio
        memory = torch.cat([v, clip_audio], dim=2).flatten(0, 1)  # [N, h*w + T, C]
        memory_pos = torch.cat([pos, torch.zeros_like(clip_audio)], dim=2).flatten(0, 1)
        return FusionOutput(fused, memory, memory_pos)
