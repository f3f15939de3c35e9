"""Convolutions in channels_last memory format."""
from __future__ import annotations

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from catravs.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Before the run, put the model's 4-D weights (its convolutions) in
    ``torch.channels_last``; convolutions then take and give NHWC tensors where the
    backend prefers them (cuDNN with AMP, oneDNN). Off by default: turn it on in a config
    (``custom_hooks = [dict(type='ChannelsLastHook')]``) where ``benchmark.py
    --channels-last`` shows that it helps (docs/benchmark.md)."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        model.to(memory_format=torch.channels_last)
