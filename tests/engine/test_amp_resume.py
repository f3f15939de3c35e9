"""Resuming an AMP run restores its loss scaler: the ``GradScaler`` state (scale, growth
tracker) goes into the checkpoint with the optimizer's and comes back on resume, so the
resumed run steps exactly as the uninterrupted one.

The CUDA path of ``AnyDeviceAmpOptimWrapper`` (MMEngine's ``AmpOptimWrapper``: loss
scaling with ``GradScaler``) runs here on the CPU: torch's ``GradScaler('cpu')`` stands
in for the CUDA one (the same class and state), and the wrapper is told CUDA is there.
The checkpoint goes through catravs' writer and its weights-only loader. A checkpoint of
such a run also resumes on a machine without CUDA (bfloat16, no scaler): the optimizer
state loads and the scaler's is left out.
"""
from __future__ import annotations

import functools

import torch
import torch.nn as nn

import catravs.engine.optim_wrappers.amp_optim_wrapper as amp_module
from catravs.engine import AnyDeviceAmpOptimWrapper, atomic_torch_save, safe_torch_load


def scaled_wrapper(monkeypatch, model: nn.Module, init_scale: float = 2.0 ** 10,
                   growth_interval: int = 3) -> AnyDeviceAmpOptimWrapper:
    import mmengine.optim.optimizer.amp_optimizer_wrapper as mmengine_amp
    monkeypatch.setattr(amp_module, 'is_cuda_available', lambda: True)
    monkeypatch.setattr(mmengine_amp, 'is_cuda_available', lambda: True)
    monkeypatch.setattr(mmengine_amp, 'GradScaler',
                        functools.partial(torch.amp.GradScaler, 'cpu'))
    wrapper = AnyDeviceAmpOptimWrapper(
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
        loss_scale=dict(init_scale=init_scale, growth_interval=growth_interval))
    assert wrapper.on_cuda and isinstance(wrapper.loss_scaler, torch.amp.GradScaler)
    return wrapper


def step(model: nn.Module, wrapper, x: torch.Tensor, blow_up: bool = False) -> None:
    loss = model(x).square().mean()
    wrapper.update_params(loss * 1e38 if blow_up else loss)  # 1e38: inf gradients


def train(model, wrapper, xs, overflow_at=()) -> None:
    for i, x in enumerate(xs):
        step(model, wrapper, x, blow_up=i in overflow_at)


def test_resume_restores_the_loss_scaler(monkeypatch, tmp_path):
    torch.manual_seed(0)
    xs = [torch.randn(4, 8) for _ in range(9)]
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    wrapper = scaled_wrapper(monkeypatch, model)
    # 5 steps: one overflow (skipped, scale halves), then 4 finite ones (the scale doubles
    # after 3 of them and the growth tracker counts the 4th)
    train(model, wrapper, xs[:5], overflow_at=(0,))
    scale = wrapper.loss_scaler.get_scale()
    assert scale == 2.0 ** 10 and wrapper.loss_scaler.state_dict()['_growth_tracker'] == 1
    path = str(tmp_path / 'iter_5.pth')
    atomic_torch_save(dict(state_dict=model.state_dict(), optimizer=wrapper.state_dict()), path)
    saved = safe_torch_load(path)
    scaler_state = dict(scale=2.0 ** 10, growth_factor=2.0, backoff_factor=0.5,
                        growth_interval=3, _growth_tracker=1)
    assert saved['optimizer']['loss_scaler'] == scaler_state

    # the resumed run: a fresh model and wrapper (initial scale 2**16), loaded
    resumed = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    resumed_wrapper = scaled_wrapper(monkeypatch, resumed, init_scale=2.0 ** 16)
    resumed.load_state_dict(saved['state_dict'])
    resumed_wrapper.load_state_dict(saved['optimizer'])
    assert resumed_wrapper.loss_scaler.state_dict() == scaler_state
    # both go on with two finite steps (the tracker reaches 3: the scale doubles), an
    # overflow (it halves) and a finite step: same scale, same weights
    train(model, wrapper, xs[5:], overflow_at=(2,))
    train(resumed, resumed_wrapper, xs[5:], overflow_at=(2,))
    assert resumed_wrapper.loss_scaler.get_scale() == wrapper.loss_scaler.get_scale() == 2.0 ** 10
    assert resumed_wrapper.loss_scaler.state_dict()['_growth_tracker'] == 1
    for a, b in zip(model.parameters(), resumed.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_scaled_checkpoint_resumes_without_cuda(monkeypatch, tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(8, 1)
    wrapper = scaled_wrapper(monkeypatch, model)
    train(model, wrapper, [torch.randn(4, 8) for _ in range(2)])
    path = str(tmp_path / 'ckpt.pth')
    atomic_torch_save(dict(optimizer=wrapper.state_dict()), path)
    monkeypatch.setattr(amp_module, 'is_cuda_available', lambda: False)
    cpu_wrapper = AnyDeviceAmpOptimWrapper(optimizer=torch.optim.Adam(model.parameters(),
                                                                      lr=1e-2))
    assert cpu_wrapper.loss_scaler is None and cpu_wrapper.cast_dtype == torch.bfloat16
    cpu_wrapper.load_state_dict(safe_torch_load(path)['optimizer'])
    want = wrapper.optimizer.state_dict()['state']
    got = cpu_wrapper.optimizer.state_dict()['state']
    assert want.keys() == got.keys() and all(
        torch.equal(want[k]['exp_avg'], got[k]['exp_avg']) for k in want)
    assert 'loss_scaler' not in cpu_wrapper.state_dict()
