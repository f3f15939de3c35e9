"""One block of CATR's temporal branch."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from catravs.models.utils import AttentionLayer, EncoderLayer, MultiheadAttention


class TemporalBlock(nn.Module):
    """Self-attention per frame, then cross-modal attention across the clip's frames.

    1. ``[h*w video ; T audio]`` of each frame: a self-attention encoder layer.
    2. The video tokens of all T frames (``T*h*w`` tokens) cross-attend the
       clip's T audio tokens; the attention output modulates them
       multiplicatively (``v = norm(v + v * attn)``; the released code's
       layer is :class:`ReleasedTemporalLayer`).
    3. The audio tokens cross-attend all ``T*h*w`` video tokens (unless
       ``update_audio=False``: then they pass through unchanged).

    ``forward(video[B, T, S_v, C], audio[B, T, C], video_pos[B, T, S_v, C],
    audio_pos[B, T, C]) -> (video[B, T, S_v, C], audio[B, T, C])``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 256,
                 dropout: float = 0.1, update_audio: bool = True) -> None:
        super().__init__()
        self.self_attn = EncoderLayer(d_model, nhead, dim_feedforward, dropout)
        self.video_to_audio = MultiheadAttention(d_model, nhead, dropout=dropout)
        self.audio_to_video = AttentionLayer(d_model, nhead, dropout) if update_audio else None
        self.modulation_norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, video: Tensor, audio: Tensor, video_pos: Tensor,
                audio_pos: Tensor) -> tuple[Tensor, Tensor]:
        b, t, s_v, c = video.shape
        # 1. per frame: the frame's video tokens with the clip's audio tokens
        frame_audio = audio[:, None].expand(b, t, t, c)
        seq = torch.cat([video, frame_audio], dim=2).flatten(0, 1)  # [B*T, S_v + T, C]
        frame_audio_pos = audio_pos[:, None].expand(b, t, t, c)
        pos = torch.cat([video_pos, frame_audio_pos], dim=2).flatten(0, 1)
        seq = self.self_attn(seq, pos).unflatten(0, (b, t))
        video, frame_audio = seq[:, :, :s_v], seq[:, :, s_v:]
        # each frame keeps its own audio token (frame t's view of audio slice t)
        audio = frame_audio.diagonal(dim1=1, dim2=2).permute(0, 2, 1)  # [B, T, C]
        # 2. all video tokens of the clip read the clip's audio; multiplicative modulation
        v = video.reshape(b, t * s_v, c)
        v_pos = video_pos.reshape(b, t * s_v, c)
        attn = self.video_to_audio(v + v_pos, audio + audio_pos, audio)
        v = self.modulation_norm(v + self.dropout(v * attn))
        # 3. the audio tokens read all video tokens of the clip (skipped where nothing
        #    reads them afterwards: the last block when the spatial branch gives the memory)
        if self.audio_to_video is not None:
            audio = self.audio_to_video(audio, v, audio_pos, v_pos)
        return v.reshape(b, t, s_v, c), audio

