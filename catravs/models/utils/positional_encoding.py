"""Sine position embeddings: DETR's 2-D one for pixels, a 1-D one for frame indices."""
from __future__ import annotations

import math

import torch
from torch import Tensor


def sine_position_embedding(not_mask: Tensor,
                            num_feats: int,
                            temperature: float = 10000.0,
                            normalize: bool = True,
                            scale: float = 2 * math.pi,
                            eps: float = 1e-6) -> Tensor:
    """Sine embedding of pixel positions, as in DETR.

    Args:
        not_mask: ``BoolTensor[N, h, w]``, True on real (not padded) pixels.
        num_feats: channels per axis; the output has ``2 * num_feats``.
        temperature: wavelength base.
        normalize: scale cumulative positions to ``[0, scale]``.

    Returns:
        ``Tensor[N, 2 * num_feats, h, w]`` (y channels first, then x).
    """
    y_embed = not_mask.cumsum(1, dtype=torch.float32)
    x_embed = not_mask.cumsum(2, dtype=torch.float32)
    if normalize:
        y_embed = y_embed / (y_embed[:, -1:, :] + eps) * scale
        x_embed = x_embed / (x_embed[:, :, -1:] + eps) * scale
    dim_t = torch.arange(num_feats, dtype=torch.float32, device=not_mask.device)
    dim_t = temperature ** (2 * torch.div(dim_t, 2, rounding_mode='floor') / num_feats)
    pos_x = x_embed[..., None] / dim_t
    pos_y = y_embed[..., None] / dim_t
    pos_x = torch.stack((pos_x[..., 0::2].sin(), pos_x[..., 1::2].cos()), dim=4).flatten(3)
    pos_y = torch.stack((pos_y[..., 0::2].sin(), pos_y[..., 1::2].cos()), dim=4).flatten(3)
    return torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)


def frame_position_embedding(num_frames: int, channels: int, temperature: float = 10000.0,
                             device: torch.device | str | None = None) -> Tensor:
    """Transformer sine embedding of the frame index ``t = 0..T-1``.

    Channel pairs ``(2i, 2i+1)`` hold ``sin(t / temperature^(2i/C))`` and its cosine, so
    the dot product of two frames' embeddings is a sum of ``cos(w_i (t - s))``: largest
    for ``s = t``. Un-normalised (unlike the pixel embedding), so that a frame keeps its
    embedding whatever the clip's length.

    Returns:
        ``Tensor[T, C]`` (``C`` even).
    """
    if channels % 2:
        raise ValueError(f'channels must be even, got {channels}')
    t = torch.arange(num_frames, dtype=torch.float32, device=device)[:, None]
    freq = temperature ** (-torch.arange(0, channels, 2, dtype=torch.float32,
                                         device=device) / channels)
    angles = t * freq
    return torch.stack((angles.sin(), angles.cos()), dim=2).flatten(1)
