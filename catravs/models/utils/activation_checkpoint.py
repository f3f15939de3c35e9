"""Activation checkpointing as one call that the ``with_cp`` switches of the models share."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.utils.checkpoint
from torch import Tensor


def checkpointed(module: nn.Module, *args: Tensor, enabled: bool = True) -> Tensor:
    """``module(*args)``, with activation checkpointing when enabled and training."""
    if enabled and module.training and torch.is_grad_enabled():
        return torch.utils.checkpoint.checkpoint(module, *args, use_reentrant=False)
    return module(*args)
