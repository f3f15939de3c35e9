"""Ablation variants of CATR's fusion encoder.

* :class:`SpatialOnlyFusion`, :class:`TemporalOnlyFusion`, :class:`NoGateFusion`:
  :class:`CombinatorialDependenceFusion` with one of its switches fixed, so that
  an ablation config names a type instead of a flag.
* :class:`VisualOnlyFusion`: no audio at all; the video tokens of each frame pass
  plain transformer encoder layers.

All take ``forward(video[B, T, C, h, w], video_pos[B, T, C, h, w], audio[B, T, C])``
and return a :class:`FusionOutput` (N = B * T).
"""
from __future__ import annotations

import torch.nn as nn
from einops import rearrange
from torch import Tensor

from catravs.models.utils import EncoderLayer
from catravs.registry import MODELS

from .base_fusion import BaseTokenFusion
from .combinatorial_dependence_fusion import CombinatorialDependenceFusion
from .fusion_output import FusionOutput

__all__ = ['SpatialOnlyFusion', 'TemporalOnlyFusion', 'NoGateFusion', 'VisualOnlyFusion']


class _FixedSwitchesFusion(CombinatorialDependenceFusion):
    """:class:`CombinatorialDependenceFusion` with ``switches`` (``use_spatial``,
    ``use_temporal``, ``use_gate``) fixed by the subclass: passing one raises TypeError."""

    switches: dict[str, bool] = {}

    def __init__(self, d_model: int = 256, nhead: int = 8, num_layers: int = 3,
                 dim_feedforward: int = 2048, temporal_feedforward: int = 256,
                 dropout: float = 0.1, frame_pos: bool = False, init_cfg=None) -> None:
        super().__init__(d_model, nhead, num_layers, dim_feedforward, temporal_feedforward,
                         dropout, frame_pos=frame_pos, init_cfg=init_cfg, **self.switches)


@MODELS.register_module()
class SpatialOnlyFusion(_FixedSwitchesFusion):
    """CATR's fusion without the temporal branch (and so without gates).

    Per frame, ``[h*w video ; T audio]`` tokens pass ``num_layers`` encoder
    layers; the output's video tokens are the fused video, the whole sequence
    the memory.

    ``forward(video[B, T, C, h, w], video_pos[B, T, C, h, w], audio[B, T, C])
    -> FusionOutput(video[B*T, C, h, w], memory[B*T, h*w + T, C], memory_pos[B*T, h*w + T, C])``.

    Args: as :class:`CombinatorialDependenceFusion` without the switches;
    ``temporal_feedforward`` is
    accepted (so that a config can swap the type and keep its other keys) and
    unused.
    """

    switches = dict(use_spatial=True, use_temporal=False, use_gate=False)


@MODELS.register_module()
class TemporalOnlyFusion(_FixedSwitchesFusion):
    """CATR's fusion without the spatial branch.

    ``num_layers`` temporal blocks merged by block-wise gates give the fused
    video; the last block's ``[h*w video ; T audio]`` tokens of each frame are
    the memory the query decoder reads.

    ``forward(video[B, T, C, h, w], video_pos[B, T, C, h, w], audio[B, T, C])
    -> FusionOutput(video[B*T, C, h, w], memory[B*T, h*w + T, C], memory_pos[B*T, h*w + T, C])``.

    Args: as :class:`CombinatorialDependenceFusion` without the switches;
    ``dim_feedforward`` (the spatial layers' FFN) is accepted and unused.
    """

    switches = dict(use_spatial=False, use_temporal=True, use_gate=True)


@MODELS.register_module()
class NoGateFusion(_FixedSwitchesFusion):
    """CATR's fusion with both branches but no block-wise gate.

    The fused video is the last temporal block's output as it is (no gate, no
    conv-BN-PReLU); the memory comes from the spatial branch.

    ``forward(video[B, T, C, h, w], video_pos[B, T, C, h, w], audio[B, T, C])
    -> FusionOutput(video[B*T, C, h, w], memory[B*T, h*w + T, C], memory_pos[B*T, h*w + T, C])``.

    Args: as :class:`CombinatorialDependenceFusion` without the switches.
    """

    switches = dict(use_spatial=True, use_temporal=True, use_gate=False)


@MODELS.register_module()
class VisualOnlyFusion(BaseTokenFusion):
    """No audio: the video tokens of each frame pass ``num_layers`` encoder layers.

    The audio argument is ignored, so the fused video and the memory depend on
    the frames only (the query decoder may still read audio if its
    ``query_init='audio'``: use ``'learned'`` for a model without audio).

    ``forward(video[B, T, C, h, w], video_pos[B, T, C, h, w], audio[B, T, C] (ignored))
    -> FusionOutput(video[B*T, C, h, w], memory[B*T, h*w, C], memory_pos[B*T, h*w, C])``.

    Args:
        d_model: C.
        nhead: attention heads.
        num_layers: encoder layers (post-norm self-attention + FFN).
        dim_feedforward: FFN width.
        dropout: dropout in all layers.
    """

    def __init__(self, d_model: int = 256, nhead: int = 8, num_layers: int = 3,
                 dim_feedforward: int = 2048, dropout: float = 0.1, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'VisualOnlyFusion needs num_layers >= 1, got {num_layers}')
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, nhead, dim_feedforward, dropout) for _ in range(num_layers))

    def forward(self, video: Tensor, video_pos: Tensor, audio: Tensor | None = None
                ) -> FusionOutput:
        b, t, c, h, w = video.shape
        tokens = rearrange(video, 'b t c h w -> (b t) (h w) c')
        pos = rearrange(video_pos, 'b t c h w -> (b t) (h w) c')
        for layer in self.layers:
            tokens = layer(tokens, pos)
        fused = rearrange(tokens, 'n (h w) c -> n c h w', h=h)
        return FusionOutput(fused, tokens, pos)
