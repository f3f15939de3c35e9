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


#: Matrix products: the ops whose outputs :func:`recompute_cheap_ops` keeps.
_MATMUL_OPS = (torch.ops.aten.mm.default, torch.ops.aten.addmm.default,
               torch.ops.aten.bmm.default, torch.ops.aten.baddbmm.default)


def recompute_cheap_ops(fn, *args: Tensor, enabled: bool = True) -> Tensor:
    """``fn(*args)``, keeping only matrix-product outputs for the backward pass and
    recomputing the rest there (selective activation checkpointing), when enabled and
    gradients are on.

    For a region such as ``depthwise conv -> GELU -> Linear``, the Linear's weight
    gradient needs the GELU output and GELU's gradient needs its input: two tensors of
    the region's widest size are kept without this. With it only the region's input is
    kept, and the backward pass reruns the convolution and the activation (the matrix
    product is not rerun: its output is kept). Outputs and gradients are bit-identical:
    the same ops run on the same inputs (RNG state restored).
    """
    if not (enabled and torch.is_grad_enabled()):
        return fn(*args)
    return torch.utils.checkpoint.checkpoint(fn, *args, use_reentrant=False,
                                             context_fn=_keep_matmul_outputs)


def _keep_matmul_outputs():
    """The selective-checkpoint contexts of :func:`recompute_cheap_ops` (a module-level
    function: ``torch.compile`` traces ``context_fn`` only when it is one, or a partial)."""
    return torch.utils.checkpoint.create_selective_checkpoint_contexts(list(_MATMUL_OPS))
