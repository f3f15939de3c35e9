"""A small, fast 4-level conv backbone for CPU demos and tests."""
from __future__ import annotations

import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from catravs.registry import MODELS

from .base_visual_backbone import BaseVisualBackbone
from .pretrained import PretrainedLoaderMixin

__all__ = ['TinyConvBackbone']


@MODELS.register_module()
class TinyConvBackbone(PretrainedLoaderMixin, BaseVisualBackbone):
    """Conv-norm-ReLU blocks; four levels at strides 4, 8, 16, 32.

    ``forward(x: Tensor[N, 3, H, W]) -> tuple of Tensor[N, C_i, H/s_i, W/s_i]``.
    Stem: 3x3 stride-2 conv to ``C_0 / 2``. Stage i: a 3x3 stride-2 conv to
    ``C_i`` then a 3x3 conv, each followed by ``norm_cfg`` and ReLU. About 0.3 M
    parameters with the default channels.

    Args:
        out_channels: channels of the four levels.
        norm_cfg: mmcv norm layer config (BN by default; e.g. ``dict(type='GN',
            num_groups=4)`` for tiny batches).
        frozen_stages: -1 trains everything; 0 freezes the stem; k in 1..4
            freezes the stem and stages 1..k.
        init_cfg: mmengine init config; ``Pretrained`` (optionally with
            ``prefix='backbone.'``) loads a checkpoint saved from this class.
    """

    strides: tuple[int, ...] = (4, 8, 16, 32)

    def __init__(self, out_channels: tuple[int, int, int, int] | list[int] = (16, 32, 64, 128),
                 norm_cfg: dict | None = None, frozen_stages: int = -1,
                 init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        channels = tuple(int(c) for c in out_channels)
        if len(channels) != 4 or min(channels) < 2:
            raise ValueError(f'out_channels must be 4 ints >= 2, got {out_channels}')
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'frozen_stages must be in [-1, 4], got {frozen_stages}')
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        self.out_channels: tuple[int, ...] = channels
        self.frozen_stages = frozen_stages

        def block(c_in: int, c_out: int, stride: int) -> ConvModule:
            return ConvModule(c_in, c_out, 3, stride=stride, padding=1, norm_cfg=norm_cfg)

        stem_channels = max(channels[0] // 2, 1)
        self.stem = block(3, stem_channels, 2)
        c_in = stem_channels
        stages = []
        for c_out in channels:
            stages.append(nn.Sequential(block(c_in, c_out, 2), block(c_out, c_out, 1)))
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        for module in [self.stem, *self.stages[:self.frozen_stages]]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> TinyConvBackbone:
        """Set train mode; frozen stages stay in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """``Tensor[N, 3, H, W]`` -> four ``Tensor[N, C_i, H/s_i, W/s_i]``."""
        x = self.stem(x)
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return tuple(outs)
