"""PVT-v2 visual backbones (timm's implementation), loading the original PVT files."""
from __future__ import annotations

import re

import torch
import torch.nn as nn
from torch import Tensor

from catravs.models.utils.activation_checkpoint import checkpointed
from catravs.registry import MODELS

from .base_visual_backbone import BaseVisualBackbone
from .pretrained import PretrainedLoaderMixin, StateDict
from .pvt_v2_mlp import RecomputingDepthwiseMlp

__all__ = ['PVTv2Backbone', 'PVTv2B5Backbone', 'convert_pvt_v2_to_timm', 'PVT_V2_ARCHS']

#: arch -> embedding dims of the four stages (timm's pvt_v2_<arch>).
PVT_V2_ARCHS: dict[str, tuple[int, int, int, int]] = {
    'b0': (32, 64, 160, 256), 'b1': (64, 128, 320, 512), 'b2': (64, 128, 320, 512),
    'b2_li': (64, 128, 320, 512), 'b3': (64, 128, 320, 512), 'b4': (64, 128, 320, 512),
    'b5': (64, 128, 320, 512),
}

_PATCH_EMBED = re.compile(r'^patch_embed(\d+)\.(.+)$')
_BLOCK = re.compile(r'^block(\d+)\.(\d+)\.(.+)$')
_STAGE_NORM = re.compile(r'^norm(\d+)\.(.+)$')


def _pvt_key_to_timm(key: str) -> str:
    """One key of the original PVT repository (whai362/PVT) -> timm's naming.

    ``patch_embed1.*`` -> ``patch_embed.*``; ``patch_embed{i}.*`` (i > 1) ->
    ``stages.{i-1}.downsample.*``; ``block{i}.{j}.*`` -> ``stages.{i-1}.blocks.{j}.*``
    with ``mlp.dwconv.dwconv`` -> ``mlp.dwconv``; ``norm{i}.*`` ->
    ``stages.{i-1}.norm.*``. Other keys (``head.*``, timm keys) are returned as is.
    """
    match = _PATCH_EMBED.match(key)
    if match:
        stage = int(match.group(1))
        where = 'patch_embed' if stage == 1 else f'stages.{stage - 1}.downsample'
        return f'{where}.{match.group(2)}'
    match = _BLOCK.match(key)
    if match:
        rest = match.group(3).replace('mlp.dwconv.dwconv.', 'mlp.dwconv.')
        return f'stages.{int(match.group(1)) - 1}.blocks.{match.group(2)}.{rest}'
    match = _STAGE_NORM.match(key)
    if match:
        return f'stages.{int(match.group(1)) - 1}.norm.{match.group(2)}'
    return key


def convert_pvt_v2_to_timm(state_dict: StateDict) -> StateDict:
    """Convert an original-naming PVT-v2 state dict (e.g. ``pvt_v2_b5.pth``) to timm's.

    Original keys: ``patch_embed1.proj.weight``, ``block1.0.attn.q.weight``,
    ``block1.0.attn.kv.weight``, ``block1.0.attn.sr.weight``,
    ``block1.0.mlp.dwconv.dwconv.weight``, ``norm1.weight``, ``head.weight``, ...
    A state dict already in timm's naming passes through unchanged.
    """
    converted = {_pvt_key_to_timm(k): v for k, v in state_dict.items()}
    if len(converted) != len(state_dict):
        raise ValueError('PVT-v2 checkpoint mixes original and timm key names')
    return converted


@MODELS.register_module()
class PVTv2Backbone(PretrainedLoaderMixin, BaseVisualBackbone):
    """PVT-v2 (``arch`` b0 .. b5, b2_li), four levels at strides 4, 8, 16, 32.

    ``forward(x: Tensor[N, 3, H, W]) -> tuple of Tensor[N, C_i, H/s_i, W/s_i]``
    with ``C = PVT_V2_ARCHS[arch]`` (b5: 64, 128, 320, 512). Each level is the
    stage output after its final LayerNorm, as in the original repository.

    Args:
        arch: timm variant suffix (``pvt_v2_<arch>``).
        frozen_stages: -1 trains everything; 0 freezes the first patch
            embedding; k in 1..4 freezes it and stages 1..k (each stage with its
            patch embedding, blocks and norm). Frozen parts stay in eval mode.
        drop_path_rate: stochastic depth, linear over all blocks (0.1 as in
            AVSBench/CATR's PVT-v2).
        with_cp: activation checkpointing of each transformer block
            (``torch.utils.checkpoint``, ``use_reentrant=False``; only when
            training with gradients): same outputs and gradients, the block's
            activations are recomputed in the backward pass instead of kept.
        recompute_mlp: each feed-forward layer keeps one hidden-width tensor for the
            backward pass instead of three and reruns its depthwise convolution and GELU
            there (:class:`RecomputingDepthwiseMlp`): same outputs and gradients, bit for
            bit; PVT-v2-b5 at 5 x 224 x 224 keeps about 0.55 GiB less. Off where
            ``with_cp`` recomputes whole blocks anyway.
        init_cfg: ``dict(type='Pretrained', checkpoint='pvt_v2_b5.pth')`` loads a
            file of the original PVT repository (or a timm-named one).
    """

    strides: tuple[int, ...] = (4, 8, 16, 32)
    expected_unexpected_prefixes = ('head.',)

    def __init__(self, arch: str = 'b5', frozen_stages: int = -1, drop_path_rate: float = 0.1,
                 with_cp: bool = False, recompute_mlp: bool = True,
                 init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in PVT_V2_ARCHS:
            raise KeyError(f'unknown PVT-v2 arch {arch!r}; known: {sorted(PVT_V2_ARCHS)}')
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'frozen_stages must be in [-1, 4], got {frozen_stages}')
        import timm  # here: importing timm (and torchvision) takes about 1 s
        net = timm.create_model(f'pvt_v2_{arch}', pretrained=False, num_classes=0,
                                drop_path_rate=drop_path_rate)
        self.patch_embed: nn.Module = net.patch_embed
        self.stages: nn.Sequential = net.stages
        self.arch = arch
        self.out_channels: tuple[int, ...] = PVT_V2_ARCHS[arch]
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        for stage in self.stages:
            for block in stage.blocks:
                block.mlp = RecomputingDepthwiseMlp(
                    block.mlp, recompute_mlp and not with_cp)
        self._freeze_stages()

    def convert_pretrained(self, state_dict: StateDict) -> StateDict:
        return convert_pvt_v2_to_timm(state_dict)

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        for module in [self.patch_embed, *self.stages[:self.frozen_stages]]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> PVTv2Backbone:
        """Set train mode; frozen stages stay in eval mode (no drop path)."""
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """``Tensor[N, 3, H, W]`` -> four ``Tensor[N, C_i, H/s_i, W/s_i]``."""
        x = self.patch_embed(x)  # [N, H/4, W/4, C0] (channels last)
        outs = []
        for stage in self.stages:
            x = self._run_stage(stage, x)  # [N, C_i, H/s_i, W/s_i]
            outs.append(x)
        return tuple(outs)

    def _run_stage(self, stage: nn.Module, x: Tensor) -> Tensor:
        """timm's ``PyramidVisionStage.forward`` (timm 1.0), with this class's ``with_cp``."""
        if not (self.with_cp and self.training and torch.is_grad_enabled()):
            return stage(x)
        if stage.downsample is not None:
            x = stage.downsample(x)  # [N, C, H, W] -> [N, H', W', C']
        n, h, w, c = x.shape
        x = x.reshape(n, -1, c)
        for block in stage.blocks:
            x = checkpointed(block, x, (h, w))
        x = stage.norm(x)
        return x.reshape(n, h, w, -1).permute(0, 3, 1, 2).contiguous()


@MODELS.register_module()
class PVTv2B5Backbone(PVTv2Backbone):
    """PVT-v2-b5 (depths 3, 6, 40, 3; dims 64, 128, 320, 512; sr 8, 4, 2, 1; MLP ratio 4).

    Same arguments as :class:`PVTv2Backbone` without ``arch``. Loads the original
    ``pvt_v2_b5.pth`` through ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
    """

    def __init__(self, frozen_stages: int = -1, drop_path_rate: float = 0.1,
                 with_cp: bool = False, recompute_mlp: bool = True,
                 init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__(arch='b5', frozen_stages=frozen_stages, drop_path_rate=drop_path_rate,
                         with_cp=with_cp, recompute_mlp=recompute_mlp, init_cfg=init_cfg)
