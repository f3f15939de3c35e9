"""A small trainable log-mel encoder for CPU demos and tests."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from catravs.registry import MODELS

from .base_audio_encoder import BaseAudioEncoder

__all__ = ['TinyAudioEncoder']


@MODELS.register_module()
class TinyAudioEncoder(BaseAudioEncoder):
    """Time-strided convs that keep every mel band, pooled over time.

    ``forward(log_mel: Tensor[N, 1, 96, 64]) -> Tensor[N, out_channels]``.

    BatchNorm on the input (log-mel values sit around -4.6 for silence), then
    3x3 conv-norm-ReLU blocks with stride (2, 1): time is halved, the 64 mel
    bands are kept so that pitch stays readable. Mean and max over time give
    ``[N, 2 C, 64]``; a 1x1 conv reduces the channels to ``reduced_channels``
    and a Linear maps the flattened ``[reduced_channels * 64]`` vector to
    ``out_channels``.

    Args:
        out_channels: embedding size D.
        channels: widths of the conv blocks (one time-stride-2 block each).
        reduced_channels: channels per mel band before the final Linear.
        num_mel_bins: mel bands of the input.
        norm_cfg: mmcv norm config of the conv blocks.
        init_cfg: mmengine init config.
    """

    def __init__(self, out_channels: int = 128,
                 channels: tuple[int, ...] | list[int] = (16, 32, 32),
                 reduced_channels: int = 8, num_mel_bins: int = 64, norm_cfg: dict | None = None,
                 init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        self.out_channels = int(out_channels)
        self.num_mel_bins = num_mel_bins
        self.input_norm = nn.BatchNorm2d(1)
        blocks, c_in = [], 1
        for c_out in channels:
            blocks.append(ConvModule(c_in, c_out, 3, stride=(2, 1), padding=1, norm_cfg=norm_cfg))
            c_in = c_out
        self.convs = nn.Sequential(*blocks)
        self.reduce = nn.Sequential(nn.Conv1d(2 * c_in, reduced_channels, 1),
                                    nn.ReLU(inplace=True))
        self.fc = nn.Linear(reduced_channels * num_mel_bins, self.out_channels)

    def forward(self, log_mel: Tensor) -> Tensor:
        """``Tensor[N, 1, T, 64]`` (T = 96; ``[N, T, 64]`` accepted) -> ``Tensor[N, D]``."""
        if log_mel.dim() == 3:
            log_mel = log_mel.unsqueeze(1)
        if log_mel.dim() != 4 or log_mel.shape[1] != 1 or log_mel.shape[-1] != self.num_mel_bins:
            raise ValueError(f'TinyAudioEncoder expects [N, 1, T, {self.num_mel_bins}] log-mel, '
                             f'got {tuple(log_mel.shape)}')
        x = self.convs(self.input_norm(log_mel))                   # [N, C, T', 64]
        x = torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1)       # [N, 2C, 64]
        x = self.reduce(x)                                         # [N, R, 64]
        return self.fc(x.flatten(1))                               # [N, D]
