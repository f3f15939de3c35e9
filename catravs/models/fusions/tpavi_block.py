"""TPAVI: the AVSBench temporal pixel-wise audio-visual interaction block ('dot' mode)."""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from catravs.registry import MODELS

from .base_stage_fusion import BaseStageFusion

TPAVIImpl = Literal['fast', 'reference']


@MODELS.register_module()
class TPAVIBlock(BaseStageFusion):
    """Non-local block whose keys and values are indexed by the audio of each frame group.

    ``forward(video: Tensor[N, C, h, w], audio: Tensor[N, D_a]) -> (z: Tensor[N, C, h, w],
    a: Tensor[N, C])``, N = B' * g frames (B' groups of ``frames_per_group`` = g consecutive
    frames; N must be a multiple of g). Per group, with the positions p = (t, y, x) of its
    g * h * w pixels and Nk = g * h * w:

    - ``a = audio_proj(audio)`` (``Linear(D_a, C)``, bias only if ``audio_bias``);
    - ``f[p, q] = theta(x_p) . phi(a_{t(q)})`` (1x1 projections to C_i; the audio key of
      pixel q is its frame's audio, the same at every position of the frame);
    - ``y_p = sum_q f[p, q] g(x_q) / Nk`` ('dot' mode: divide by the number of key
      positions, no softmax);
    - ``z = LayerNorm_C(BN(W_z y) + x)`` with ``W_z`` a 1x1 conv C_i -> C and a BatchNorm
      initialised to weight = bias = 0 (a new block is ``LayerNorm(x)``). The BatchNorm's
      batch statistics are over all N * h * w positions.

    ``impl='reference'`` materialises ``f`` (``[B', Nk, Nk]``: 983 MB in float32 for one
    group of 5 frames at 56 x 56), as the released code does. ``impl='fast'`` (default)
    uses that the key is constant over each frame's positions:
    ``y_p = theta(x_p) . (sum_t phi(a_t)^T G_t) / Nk`` with ``G_t = sum_{q in frame t}
    g(x_q)`` = ``W_g (sum_q x_q) + h w b_g``: a ``C_i x C_i`` matrix per group, linear in
    h * w. The same function in real arithmetic; only the summation order differs.

    Args:
        channels: C.
        audio_channels: D_a (VGGish: 128).
        inter_channels: C_i (released: C / 2 = 128).
        frames_per_group: g (released: 5 in every setting; AVSS clips of 10 frames are two
            groups).
        audio_bias: ``audio_proj`` has a bias (released S4/MS3: yes; AVSS: no).
        impl: ``'fast'`` or ``'reference'``.
    """

    def __init__(self, channels: int = 256, audio_channels: int = 128,
                 inter_channels: int = 128, frames_per_group: int = 5,
                 audio_bias: bool = True, impl: TPAVIImpl = 'fast', init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if impl not in ('fast', 'reference'):
            raise ValueError(f"TPAVIBlock.impl must be 'fast' or 'reference', got {impl!r}")
        self.channels, self.inter_channels = channels, inter_channels
        self.frames_per_group, self.impl = frames_per_group, impl
        self.audio_proj = nn.Linear(audio_channels, channels, bias=audio_bias)
        self.theta = nn.Conv2d(channels, inter_channels, 1)
        self.phi = nn.Linear(channels, inter_channels)
        self.g = nn.Conv2d(channels, inter_channels, 1)
        self.out_conv = nn.Conv2d(inter_channels, channels, 1)
        self.out_bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.out_bn.weight)
        nn.init.zeros_(self.out_bn.bias)
        self.norm = nn.LayerNorm(channels)

    def _attend_reference(self, x: Tensor, key: Tensor) -> Tensor:
        """``x[N, C, h, w]``, ``key[B', g, C_i]`` -> ``y[N, C_i, h, w]`` via ``[B', Nk, Nk]``."""
        n, _, h, w = x.shape
        grp = self.frames_per_group
        def positions(t: Tensor) -> Tensor:  # [N, C_i, h, w] -> [B', Nk, C_i]
            return t.flatten(2).unflatten(0, (-1, grp)).transpose(2, 3).flatten(1, 2)

        theta, value = positions(self.theta(x)), positions(self.g(x))
        key = key[:, :, None].expand(-1, -1, h * w, -1).flatten(1, 2)  # [B', Nk, C_i]
        f = theta @ key.transpose(1, 2)  # [B', Nk, Nk]
        y = (f / f.shape[-1]) @ value
        return y.unflatten(1, (grp, h * w)).transpose(2, 3).reshape(n, -1, h, w)

    def _attend_fast(self, x: Tensor, key: Tensor) -> Tensor:
        """The same as :meth:`_attend_reference`, through a ``[B', C_i, C_i]`` matrix."""
        n, _, h, w = x.shape
        grp = self.frames_per_group
        theta = self.theta(x).unflatten(0, (-1, grp))  # [B', g, C_i, h, w]
        value_sum = F.linear(x.sum((-2, -1)), self.g.weight.flatten(1)) + h * w * self.g.bias
        value_sum = value_sum.unflatten(0, (-1, grp))  # [B', g, C_i]: sum over each frame
        mix = key.transpose(1, 2) @ value_sum / (grp * h * w)  # [B', C_i, C_i]
        y = torch.einsum('btihw,bij->btjhw', theta, mix)
        return y.flatten(0, 1)

    def forward(self, video: Tensor, audio: Tensor) -> tuple[Tensor, Tensor]:
        n = video.shape[0]
        if n % self.frames_per_group:
            raise ValueError(f'TPAVIBlock: {n} frames do not split into groups of '
                             f'frames_per_group={self.frames_per_group}')
        a = self.audio_proj(audio)  # [N, C]
        key = self.phi(a).unflatten(0, (-1, self.frames_per_group))  # [B', g, C_i]
        attend = self._attend_fast if self.impl == 'fast' else self._attend_reference
        y = attend(video, key)
        z = self.out_bn(self.out_conv(y)) + video
        z = self.norm(z.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return z, a
