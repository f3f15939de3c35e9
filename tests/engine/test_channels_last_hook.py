"""ChannelsLastHook: the model's convolution weights become channels_last, and the model
computes what it computed before (the memory format changes no value)."""
from __future__ import annotations

import pytest
import torch
from torch.nn.parallel import DistributedDataParallel

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


def test_the_hook_refuses_a_model_ddp_has_wrapped(one_process_group):
    """Converted after the wrap, DDP's first gradients come out wrong (measured: 4.6e-2
    off on a two-conv net, right from the second iteration on): the hook says so."""
    ddp = DistributedDataParallel(torch.nn.Conv2d(3, 4, 3))
    with pytest.raises(RuntimeError, match='channels_last=True'):
        ChannelsLastHook().before_run(type('Runner', (), {'model': ddp})())


def test_a_channels_last_model_under_ddp_matches_the_contiguous_one(one_process_group,
                                                                      make_batch):
    """``model.channels_last=True`` (the ResNet-50 configs): the weights are NHWC from
    construction, before DDP wraps the model as a distributed run does; outputs and
    gradients equal those of the contiguous model on the same weights (the oracle), in
    the first iteration and a later one (DDP rebuilds its buckets after the first)."""
    torch.manual_seed(0)
    plain = MODELS.build(tiny_catr_cfg()).eval()
    nhwc = MODELS.build(dict(tiny_catr_cfg(), channels_last=True)).eval()
    nhwc.load_state_dict(plain.state_dict())
    convs = [m for m in nhwc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(
        m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)
    assert not all(m.weight.is_contiguous(memory_format=torch.channels_last)
                   for m in plain.modules() if isinstance(m, torch.nn.Conv2d))
    data = plain.data_preprocessor(make_batch(batch=1, frames=2, size=32), False)
    ddp = DistributedDataParallel(nhwc, find_unused_parameters=True)
    for _ in range(2):
        for model in (plain, nhwc):
            model.zero_grad(set_to_none=True)
        want = plain(**data, mode='tensor')
        got = ddp(**data, mode='tensor')
        sum(o.square().mean() for o in want).backward()
        sum(o.square().mean() for o in got).backward()
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
        grads = [(n, p.grad, q.grad) for (n, p), q in zip(nhwc.named_parameters(),
                                                         plain.parameters())]
        assert any(g is not None for _, g, _ in grads)
        for name, a, b in grads:
            assert (a is None) == (b is None), name
            if a is not None:
                torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4, msg=name)
