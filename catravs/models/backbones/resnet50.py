"""ResNet-50 visual backbone (timm's implementation, torchvision key naming)."""
from __future__ import annotations

import torch.nn as nn
from torch import Tensor

from catravs.models.utils.activation_checkpoint import checkpointed
from catravs.registry import MODELS

from .base_visual_backbone import BaseVisualBackbone
from .pretrained import PretrainedLoaderMixin, StateDict

__all__ = ['ResNet50Backbone', 'convert_torchvision_resnet']


def convert_torchvision_resnet(state_dict: StateDict) -> StateDict:
    """torchvision ResNet keys -> this backbone's keys.

    torchvision (``resnet50-19c8e357.pth``: ``conv1.weight``, ``bn1.*``,
    ``layer1.0.conv1.weight``, ..., ``layer1.0.downsample.0.weight``, ``fc.*``) and
    timm share one naming, so keys are kept as they are; ``fc.*`` (the ImageNet
    classifier) is left to be reported as expected-unused. Old files such as
    19c8e357 carry no ``num_batches_tracked`` buffers; those are not needed.
    """
    return dict(state_dict)


@MODELS.register_module()
class ResNet50Backbone(PretrainedLoaderMixin, BaseVisualBackbone):
    """ResNet-50 (v1.5: stride on the 3x3 conv), four levels at strides 4, 8, 16, 32.

    ``forward(x: Tensor[N, 3, H, W]) -> (Tensor[N, 256, H/4, W/4],
    Tensor[N, 512, H/8, W/8], Tensor[N, 1024, H/16, W/16], Tensor[N, 2048, H/32, W/32])``.

    Args:
        frozen_stages: -1 trains everything; 0 freezes the stem (conv1, bn1);
            k in 1..4 freezes the stem and ``layer1`` .. ``layer{k}``. Frozen
            parts get ``requires_grad=False`` and stay in eval mode.
        norm_eval: keep every BatchNorm in eval mode (running statistics are
            neither used from the batch nor updated) while training.
        with_cp: gradient checkpointing of each residual block (saves memory).
        drop_path_rate: stochastic depth of the residual blocks (0 in torchvision).
        init_cfg: ``dict(type='Pretrained', checkpoint='resnet50-19c8e357.pth')``
            loads a torchvision-named file (see :func:`convert_torchvision_resnet`).
    """

    out_channels: tuple[int, ...] = (256, 512, 1024, 2048)
    strides: tuple[int, ...] = (4, 8, 16, 32)
    expected_unexpected_prefixes = ('fc.',)

    def __init__(self, frozen_stages: int = -1, norm_eval: bool = False, with_cp: bool = False,
                 drop_path_rate: float = 0.0, init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'frozen_stages must be in [-1, 4], got {frozen_stages}')
        import timm  # here: importing timm (and torchvision) takes about 1 s
        net = timm.create_model('resnet50', pretrained=False, num_classes=0,
                                drop_path_rate=drop_path_rate)
        self.conv1, self.bn1, self.act1, self.maxpool = net.conv1, net.bn1, net.act1, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = (
            net.layer1, net.layer2, net.layer3, net.layer4)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self._freeze_stages()

    def convert_pretrained(self, state_dict: StateDict) -> StateDict:
        return convert_torchvision_resnet(state_dict)

    def _frozen_modules(self) -> list[nn.Module]:
        if self.frozen_stages < 0:
            return []
        stages = [self.layer1, self.layer2, self.layer3, self.layer4]
        return [self.conv1, self.bn1] + stages[:self.frozen_stages]

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> ResNet50Backbone:
        """Set train mode; frozen stages (and all BN layers with ``norm_eval``) stay in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def _run_layer(self, layer: nn.Sequential, x: Tensor) -> Tensor:
        for block in layer:
            x = checkpointed(block, x, enabled=self.with_cp)
        return x

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``Tensor[N, 3, H, W]`` -> four levels (see the class docstring)."""
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        c2 = self._run_layer(self.layer1, x)
        c3 = self._run_layer(self.layer2, c2)
        c4 = self._run_layer(self.layer3, c3)
        c5 = self._run_layer(self.layer4, c4)
        return c2, c3, c4, c5
