"""VGGish audio encoder with torchvggish's key naming (``vggish-10086976.pth``)."""
from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange
from torch import Tensor

from catravs.registry import MODELS
from catravs.utils.vggish_params import VGGISH_EXAMPLE_SHAPE

from ..backbones.pretrained import PretrainedLoaderMixin, StateDict
from .base_audio_encoder import BaseAudioEncoder

__all__ = ['VGGish', 'check_vggish_state_dict', 'VGGISH_KEYS']

#: conv widths and max-pools ('M') of VGGish's feature extractor.
_FEATURE_LAYOUT: tuple[int | str, ...] = (64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M')


def _vggish_keys() -> tuple[str, ...]:
    keys, index = [], 0
    for item in _FEATURE_LAYOUT:
        if item == 'M':
            index += 1  # MaxPool2d
        else:
            keys += [f'features.{index}.weight', f'features.{index}.bias']
            index += 2  # Conv2d, ReLU
    keys += [f'embeddings.{i}.{p}' for i in (0, 2, 4) for p in ('weight', 'bias')]
    return tuple(keys)


#: every tensor of torchvggish's ``vggish-10086976.pth``.
VGGISH_KEYS: tuple[str, ...] = _vggish_keys()


def check_vggish_state_dict(state_dict: StateDict) -> list[str]:
    """Names of the VGGish tensors absent from ``state_dict`` (empty: complete)."""
    return [k for k in VGGISH_KEYS if k not in state_dict]


@MODELS.register_module()
class VGGish(PretrainedLoaderMixin, BaseAudioEncoder):
    """VGGish (Hershey et al. 2017) as ported by torchvggish; the 128-d embedding.

    ``forward(log_mel: Tensor[N, 1, 96, 64]) -> Tensor[N, 128]`` (``[N, 96, 64]``
    is accepted too). Layers: conv64-pool-conv128-pool-conv256x2-pool-conv512x2-pool
    (3x3 convs, ReLU, 2x2 max-pools) -> ``[N, 512, 6, 4]``, flattened in NHWC
    order (the TensorFlow order the weights were trained with), then
    Linear(12288, 4096)-ReLU-Linear(4096, 4096)-ReLU-Linear(4096, 128)-ReLU.

    The PCA/quantisation postprocessing is not applied: AVSBench and CATR use
    the raw embeddings (``POSTPROCESS_LOG_MEL_WITH_PCA = False``); ``pproc.*``
    keys in a file are reported as expected-unused.

    Args:
        frozen: no gradients (``requires_grad=False``, forward under
            ``torch.no_grad``) and eval mode kept through ``train()``. The
            authors freeze it (``FREEZE_AUDIO_EXTRACTOR = True``).
        init_cfg: ``dict(type='Pretrained', checkpoint='vggish-10086976.pth')``.
    """

    out_channels: int = 128
    expected_unexpected_prefixes = ('pproc.',)
    expected_unexpected_reason = 'PCA postprocessing parameters, not used'

    def __init__(self, frozen: bool = True, init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        layers: list[nn.Module] = []
        in_channels = 1
        for item in _FEATURE_LAYOUT:
            if item == 'M':
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(in_channels, int(item), kernel_size=3, padding=1),
                           nn.ReLU(inplace=True)]
                in_channels = int(item)
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 6 * 4, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 128), nn.ReLU(inplace=True))
        self.frozen = frozen
        if frozen:
            self.requires_grad_(False)
            self.eval()

    def convert_pretrained(self, state_dict: StateDict) -> StateDict:
        """torchvggish files already use this module's naming."""
        return dict(state_dict)

    def train(self, mode: bool = True) -> VGGish:
        """Set train mode; a frozen VGGish stays in eval mode."""
        return super().train(mode and not self.frozen)

    def _embed(self, log_mel: Tensor) -> Tensor:
        x = self.features(log_mel)                 # [N, 512, 6, 4]
        x = rearrange(x, 'n c h w -> n (h w c)')   # the released NHWC flatten: [N, 12288]
        return self.embeddings(x)                  # [N, 128]

    def forward(self, log_mel: Tensor) -> Tensor:
        """``Tensor[N, 1, 96, 64]`` (or ``[N, 96, 64]``) log-mel -> ``Tensor[N, 128]``."""
        if log_mel.dim() == 3:
            log_mel = log_mel.unsqueeze(1)
        if tuple(log_mel.shape[1:]) != VGGISH_EXAMPLE_SHAPE:
            raise ValueError(f'VGGish expects log-mel examples [N, 1, 96, 64], got '
                             f'{tuple(log_mel.shape)}')
        if self.frozen:
            with torch.no_grad():
                return self._embed(log_mel)
        return self._embed(log_mel)
