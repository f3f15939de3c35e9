"""Batch, normalise and move clips to the model's device."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from catravs.registry import MODELS


@MODELS.register_module()
class AVSDataPreprocessor(BaseDataPreprocessor):
    """Turn a list of packed clips into batched tensors.

    Input (from ``pseudo_collate``): ``inputs = dict(frames=[uint8 Tensor[T, 3, H_i, W_i]] * B,
    audio=[Tensor[T, ...]] * B)``. Output: ``inputs = dict(frames=float Tensor[B, T, 3, H, W],
    audio=Tensor[B, T, ...])``: frames as ``(x - mean) / std`` (the released loader's
    ``ToTensor`` + ImageNet ``Normalize``, scaled by 255), zero-padded after normalisation
    at the bottom-right to a common size divisible by ``size_divisor``. Ground-truth masks
    are not padded: they keep their own size (the model crops its predictions to
    ``img_shape`` and resizes them to the labels); each data sample gets
    ``batch_input_shape``.

    Args:
        mean, std: per-channel statistics, in RGB order after ``bgr_to_rgb``.
        bgr_to_rgb: frames arrive in BGR (OpenCV); convert to RGB.
        size_divisor: pad H and W up to a multiple of this (1: only to the batch max).
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 size_divisor: int = 1,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.bgr_to_rgb = bgr_to_rgb
        self.size_divisor = size_divisor

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs, data_samples = data['inputs'], data.get('data_samples')
        frames: list[torch.Tensor] = list(inputs['frames'])
        height = max(f.shape[-2] for f in frames)
        width = max(f.shape[-1] for f in frames)
        div = self.size_divisor
        height, width = -(-height // div) * div, -(-width // div) * div

        batch = []
        for clip in frames:
            clip = clip.float()
            if self.bgr_to_rgb:
                clip = clip.flip(1)
            clip = (clip - self.mean) / self.std
            pad = (0, width - clip.shape[-1], 0, height - clip.shape[-2])
            batch.append(F.pad(clip, pad, value=0.0))
        audio = inputs['audio']
        audio = torch.stack(list(audio)) if isinstance(audio, (list, tuple)) else audio

        if data_samples is not None:
            # Labels keep their own size (evaluation may score at another size than
            # the frames); the model crops predictions to img_shape and resizes.
            for sample in data_samples:
                sample.set_metainfo(dict(batch_input_shape=(height, width)))
        return dict(inputs=dict(frames=torch.stack(batch), audio=audio.float()),
                    data_samples=data_samples)
