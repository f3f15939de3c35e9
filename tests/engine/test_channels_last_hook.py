"""ChannelsLastHook: the model's convolution weights become channels_last, and the model
computes what it computed before (the memory format changes no value)."""
from __future__ import annotations

import torch

from catravs.engine.hooks import ChannelsLastHook
from catravs.registry import HOOKS, MODELS
from tests.conftest import tiny_catr_cfg


def test_channels_last_hook_converts_convolutions_and_keeps_the_outputs(make_batch):
    torch.manual_seed(0)
    model = MODELS.build(tiny_catr_cfg()).eval()
    data = model.data_preprocessor(make_batch(batch=1, frames=2, size=32), False)
    with torch.no_grad():
        before = model(**data, mode='tensor')
    runner = type('Runner', (), {'model': model})
    assert isinstance(HOOKS.build(dict(type='ChannelsLastHook')), ChannelsLastHook)
    ChannelsLastHook().before_run(runner)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(
        m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)
    with torch.no_grad():
        after = model(**data, mode='tensor')
    for a, b in zip(after, before):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
