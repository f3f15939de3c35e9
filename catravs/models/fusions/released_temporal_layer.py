"""One layer of the released CATR code's temporal branch."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from catravs.models.utils import EncoderLayer, MultiheadAttention


class ReleasedTemporalLayer(nn.Module):
    """Temporal encoder layer as the released code computes it (``TemporalEncoderLayer``).

    1. Each frame's ``[S_v video ; T audio]`` sequence passes a post-norm
       self-attention encoder layer.
    2. The clip's audio tokens are taken from frame 0's copy of them.
    3. The ``T*S_v`` video tokens of the clip attend to those audio tokens (no
       position on either side, attention dropout 0) and are multiplied by the
       result twice: ``v = v * a * a`` (no residual, no norm).
    4. The audio tokens attend to the new video tokens (video position on the
       keys) and are multiplied the same way (skipped with ``update_audio=False``:
       the last layer's audio update is computed by the released code and never read).
    5. The next layer's sequence is ``[video ; audio]`` with the audio copied
       to every frame.

    ``forward(seq[B, T, S_v + T, C], seq_pos[B, T, S_v + T, C],
    video_pos[B, T*S_v, C]) -> (video[B, T*S_v, C], seq[B, T, S_v + T, C])``.

    Args:
        d_model, nhead: sizes.
        dim_feedforward: FFN width of the encoder layer (the released layer's
            own default is 256; MTTR's yaml gives 2048 through ``**kwargs``).
        dropout: dropout of the encoder layer.
        update_audio: compute step 4 (else the audio tokens pass unchanged).
    """

    def __init__(self, d_model: int = 256, nhead: int = 8, dim_feedforward: int = 2048,
                 dropout: float = 0.1, update_audio: bool = True) -> None:
        super().__init__()
        self.encoder = EncoderLayer(d_model, nhead, dim_feedforward, dropout)
        self.video_from_audio = MultiheadAttention(d_model, nhead, dropout=0.0)
        self.audio_from_video = (MultiheadAttention(d_model, nhead, dropout=0.0)
                                 if update_audio else None)

    def forward(self, seq: Tensor, seq_pos: Tensor, video_pos: Tensor,
                audio_padding_mask: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        b, t, s, c = seq.shape
        s_v = s - t
        seq = self.encoder(seq.flatten(0, 1), seq_pos.flatten(0, 1)).unflatten(0, (b, t))
        video = seq[:, :, :s_v].reshape(b, t * s_v, c)
        audio = seq[:, 0, s_v:]  # [B, T, C]: frame 0's copy of the clip's audio tokens
        attn = self.video_from_audio(video, audio, audio, audio_padding_mask)
        video = video * attn * attn
        if self.audio_from_video is not None:
            attn = self.audio_from_video(audio, video + video_pos, video)
            audio = audio * attn * attn
        seq = torch.cat([video.view(b, t, s_v, c), audio[:, None].expand(b, t, t, c)], dim=2)
        return video, seq
