"""PVT-v2's feed-forward layer with its widest activations recomputed in backward."""
from __future__ import annotations

import torch.nn as nn
from torch import Tensor

from catravs.models.utils.activation_checkpoint import recompute_cheap_ops


class RecomputingDepthwiseMlp(nn.Module):
    """timm's PVT-v2 ``MlpWithDepthwiseConv`` (``fc1 -> depthwise 3x3 -> GELU -> fc2``),
    its submodules taken over, keeping one hidden-width tensor for the backward pass
    instead of three.

    ``forward(x: Tensor[N, H*W, C], feat_size=(H, W)) -> Tensor[N, H*W, C]``, hidden
    width ``r*C`` (PVT-v2: r = 8, 8, 4, 4 by stage). Without recomputation the backward pass
    keeps the convolution's input, GELU's input and fc2's input, each ``[N, H*W, r*C]``:
    in PVT-v2-b5 at 5 x 224 x 224 they are about 60% of the backbone's training activations.
    With ``recompute=True`` (training with gradients) only the convolution's input is
    kept; the convolution and GELU run again in the backward pass
    (:func:`recompute_cheap_ops`), the matrix products do not. Outputs, gradients and
    parameter names are those of timm's layer.
    """

    def __init__(self, mlp: nn.Module, recompute: bool = True) -> None:
        """``mlp``: timm's layer; its submodules (``fc1``, ``relu``, ``dwconv``, ``act``,
        ``fc2``, ``drop``) become this module's, so the state-dict keys stay timm's."""
        super().__init__()
        for name, child in mlp.named_children():
            self.add_module(name, child)
        self.recompute = recompute

    def forward(self, x: Tensor, feat_size: list[int]) -> Tensor:
        x = self.fc1(x)
        x = recompute_cheap_ops(self._hidden, x, feat_size[0], feat_size[1],
                                enabled=self.recompute and self.training)
        return self.drop(x)

    def _hidden(self, x: Tensor, h: int, w: int) -> Tensor:
        """``[N, H*W, r*C]`` after fc1 -> depthwise conv -> GELU -> fc2 -> ``[N, H*W, C]``."""
        n, _, c = x.shape
        x = self.relu(x.transpose(1, 2).view(n, c, h, w))
        x = self.act(self.dwconv(x).flatten(2).transpose(1, 2))
        return self.fc2(self.drop(x))
