"""Gated bidirectional cross-attention fusion: an example fusion plugin for catravs."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch import Tensor

from catravs.models.fusions import BaseTokenFusion, FusionOutput
from catravs.models.utils import FFN
from catravs.registry import MODELS


def time_embedding(num_frames: int, channels: int, device: torch.device | None = None,
                   dtype: torch.dtype = torch.float32, temperature: float = 10000.0) -> Tensor:
    """Sinusoidal embedding of the frame index: ``Tensor[T, C]`` (C even).

    Column ``2i`` holds ``sin(t / temperature^(2i / C))``, column ``2i + 1`` the cosine.
    """
    if channels % 2:
        raise ValueError(f'time_embedding needs an even number of channels, got {channels}')
    t = torch.arange(num_frames, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, channels, 2, device=device, dtype=torch.float32)
                     * (-math.log(temperature) / channels))
    emb = torch.zeros(num_frames, channels, device=device, dtype=torch.float32)
    emb[:, 0::2] = torch.sin(t * freq)
    emb[:, 1::2] = torch.cos(t * freq)
    return emb.to(dtype)


class GatedBiCrossLayer(nn.Module):
    """One layer: video and audio tokens attend each other; a gate scales audio->video.

    Both directions read the layer's inputs (a simultaneous update):

    * ``a2v = MHA(q=video + video_pos, k=audio + audio_pos, v=audio)``,
      ``g = sigmoid(Linear([video ; a2v]))`` (per token and channel),
      ``video = FFN(LN(video + g * a2v))``;
    * ``v2a = MHA(q=audio + audio_pos, k=video + video_pos, v=video)``,
      ``audio = FFN(LN(audio + v2a))``.

    ``forward(video[B, L, C], video_pos[B, L, C], audio[B, T, C], audio_pos[B, T, C])
    -> (video[B, L, C], audio[B, T, C], gate[B, L, C])``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float = 0.1,
                 gate_bias_init: float = 0.0) -> None:
        super().__init__()
        self.video_from_audio = nn.MultiheadAttention(d_model, nhead, dropout=dropout,
                                                      batch_first=True)
        self.audio_from_video = nn.MultiheadAttention(d_model, nhead, dropout=dropout,
                                                      batch_first=True)
        self.gate = nn.Linear(2 * d_model, d_model)
        nn.init.constant_(self.gate.bias, gate_bias_init)
        self.video_norm = nn.LayerNorm(d_model)
        self.audio_norm = nn.LayerNorm(d_model)
        self.video_ffn = FFN(d_model, dim_feedforward, dropout)
        self.audio_ffn = FFN(d_model, dim_feedforward, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, video: Tensor, video_pos: Tensor, audio: Tensor,
                audio_pos: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        v_key, a_key = video + video_pos, audio + audio_pos
        a2v, _ = self.video_from_audio(v_key, a_key, audio, need_weights=False)
        v2a, _ = self.audio_from_video(a_key, v_key, video, need_weights=False)
        gate = torch.sigmoid(self.gate(torch.cat([video, a2v], dim=-1)))
        video = self.video_ffn(self.video_norm(video + self.dropout(gate * a2v)))
        audio = self.audio_ffn(self.audio_norm(audio + self.dropout(v2a)))
        return video, audio, gate


@MODELS.register_module()
class GatedBiCrossFusion(BaseTokenFusion):
    """Gated bidirectional cross-attention between a clip's video and audio tokens.

    The ``T*h*w`` video tokens of a clip and its ``T`` audio tokens pass
    ``num_layers`` :class:`GatedBiCrossLayer`: video tokens attend the audio
    tokens, audio tokens attend the video tokens, and a learned sigmoid gate
    decides, per token and channel, how much of the audio->video update is
    added. With ``time_embed`` both get a sinusoidal embedding of their frame
    index (added to queries and keys only), so that a video token can tell the
    audio of its own frame from the others'.

    Shapes (B clips, T frames, C = ``d_model``, N = B*T)::

        forward(video:     Tensor[B, T, C, h, w],   stride-8 video tokens
                video_pos: Tensor[B, T, C, h, w],   their spatial position embedding
                audio:     Tensor[B, T, C])         one audio token per frame
        -> FusionOutput(video=Tensor[N, C, h, w],           fused video, for the mask head
                        memory=Tensor[N, h*w + T, C],       frame t: its h*w fused video
                                                            tokens and the clip's T audio tokens
                        memory_pos=Tensor[N, h*w + T, C])   video_pos (+ time), audio: time

    Args:
        d_model: C (even when ``time_embed``).
        nhead: attention heads (must divide ``d_model``).
        num_layers: number of layers.
        dim_feedforward: FFN width.
        dropout: dropout in attention, FFN and residuals.
        gate_bias_init: initial bias of the gate (0: the gate starts near 0.5;
            negative: the model starts close to ignoring the audio).
        time_embed: add the frame-index embedding.
        init_cfg: mmengine init config.
    """

    def __init__(self, d_model: int = 256, nhead: int = 8, num_layers: int = 2,
                 dim_feedforward: int = 1024, dropout: float = 0.1,
                 gate_bias_init: float = 0.0, time_embed: bool = True,
                 init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if d_model % nhead:
            raise ValueError(f'GatedBiCrossFusion: nhead={nhead} must divide d_model={d_model}')
        if time_embed and d_model % 2:
            raise ValueError(f'GatedBiCrossFusion: time_embed needs an even d_model, '
                             f'got {d_model}')
        if num_layers < 1:
            raise ValueError(f'GatedBiCrossFusion: num_layers must be >= 1, got {num_layers}')
        self.d_model, self.time_embed = d_model, time_embed
        self.layers = nn.ModuleList(
            GatedBiCrossLayer(d_model, nhead, dim_feedforward, dropout, gate_bias_init)
            for _ in range(num_layers))

    def forward(self, video: Tensor, video_pos: Tensor, audio: Tensor) -> FusionOutput:
        if video.dim() != 5 or video.shape[2] != self.d_model:
            raise ValueError(f'GatedBiCrossFusion: video must be [B, T, {self.d_model}, h, w], '
                             f'got {tuple(video.shape)}')
        b, t, c, h, w = video.shape
        if video_pos.shape != video.shape:
            raise ValueError(f'GatedBiCrossFusion: video_pos must match video '
                             f'{tuple(video.shape)}, got {tuple(video_pos.shape)}')
        if audio.shape != (b, t, c):
            raise ValueError(f'GatedBiCrossFusion: audio must be [B, T, C] = [{b}, {t}, {c}], '
                             f'got {tuple(audio.shape)}')
        tokens = video.flatten(3).transpose(2, 3)  # [B, T, h*w, C]
        pos = video_pos.flatten(3).transpose(2, 3)
        if self.time_embed:
            frame_emb = time_embedding(t, c, video.device, video.dtype)  # [T, C]
            pos = pos + frame_emb[None, :, None]
            audio_pos = frame_emb[None].expand(b, t, c)
        else:
            audio_pos = torch.zeros_like(audio)

        v, a = tokens.reshape(b, t * h * w, c), audio
        v_pos = pos.reshape(b, t * h * w, c)
        for layer in self.layers:
            v, a, _ = layer(v, v_pos, a, audio_pos)

        v = v.reshape(b, t, h * w, c)
        fused = v.flatten(0, 1).transpose(1, 2).reshape(b * t, c, h, w)
        clip_audio = a[:, None].expand(b, t, t, c)  # every frame reads all T audio tokens
        memory = torch.cat([v, clip_audio], dim=2).flatten(0, 1)
        memory_pos = torch.cat([pos, audio_pos[:, None].expand(b, t, t, c)], dim=2).flatten(0, 1)
        return FusionOutput(fused, memory, memory_pos)
