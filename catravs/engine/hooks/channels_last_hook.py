"""Convolutions in channels_last memory format."""
from __future__ import annotations

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.nn.parallel import DistributedDataParallel

from catravs.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Before the run, put the model's 4-D weights (its convolutions) in
    ``torch.channels_last``; convolutions then take and give NHWC tensors where the
    backend prefers them (cuDNN with AMP, oneDNN). Off by default: turn it on in a config
    (``custom_hooks = [dict(type='ChannelsLastHook')]``) where ``benchmark.py
    --channels-last`` shows that it helps (docs/benchmark.md). Single-process runs only:
    under DDP it raises, as converting after the wrap gives wrong gradients in the first
    iteration; there, build the layout into the model (``model.channels_last=True``, on in
    the ResNet-50 configs)."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        if isinstance(runner.model, DistributedDataParallel):
            raise RuntimeError(
                'ChannelsLastHook cannot convert a model that DDP has already wrapped: DDP '
                'keeps the layout of the weights it was built with, and the first '
                "iteration's gradients come out wrong. Build the layout into the model "
                "instead: model.channels_last=True, as the ResNet-50 configs do")
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        model.to(memory_format=torch.channels_last)
