"""AMP acts: under ``AnyDeviceAmpOptimWrapper`` (``--amp``) the fusion's and decoder's
matmuls run in bfloat16 on the CPU and in float16 on CUDA (CUDA tests skip without a GPU),
master weights and Adam's state stay float32, and the loss on one batch is within a
stated tolerance of float32's. On CUDA a step whose gradients overflow is skipped and the
loss scale halves (``GradScaler``)."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from catravs.engine import AnyDeviceAmpOptimWrapper
from catravs.registry import MODELS
from tests.conftest import tiny_catr_cfg

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
#: |loss_amp - loss_fp32| / loss_fp32 on one batch of the tiny CATR (bf16: 8 bits of
#: mantissa; measured 2026-12-04 on the CPU: below 1e-2)
LOSS_RTOL = 5e-2


def _linear_output_dtypes(model: nn.Module, parts: tuple[str, ...]) -> dict[str, set]:
    """Record the output dtype of every ``nn.Linear`` in ``parts`` while the model runs."""
    seen: dict[str, set] = {part: set() for part in parts}
    for part in parts:
        for module in getattr(model, part).modules():
            if isinstance(module, nn.Linear):
                module.register_forward_hook(
                    lambda m, i, out, part=part: seen[part].add(out.dtype))
    return seen


def _check_amp(device: str, dtype: torch.dtype, make_batch) -> None:
    torch.manual_seed(0)
    model = MODELS.build(tiny_catr_cfg()).to(device)
    batch = make_batch(batch=2, frames=2, size=32)
    wrapper = AnyDeviceAmpOptimWrapper(
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-4), dtype=dtype)
    # the loss of one batch (eval mode: no dropout) with and without autocast
    model.eval()
    data = model.data_preprocessor(batch, True)
    with torch.no_grad():
        fp32 = sum(model(**data, mode='loss').values()).item()
        seen = _linear_output_dtypes(model, ('fusion', 'decoder'))
        with wrapper.optim_context(model):
            amp = sum(model(**data, mode='loss').values()).item()
    assert seen['fusion'] == {dtype} and seen['decoder'] == {dtype}, seen
    assert abs(amp - fp32) <= LOSS_RTOL * abs(fp32), (amp, fp32)
    # a training step: the master weights and Adam's state stay float32
    model.train()
    model.train_step(batch, wrapper)
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    state = [v for s in wrapper.optimizer.state.values() for v in s.values()
             if torch.is_tensor(v) and v.is_floating_point()]
    assert state and {v.dtype for v in state} == {torch.float32}


def test_amp_runs_fusion_and_decoder_in_bfloat16_on_cpu(make_batch, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    import catravs.engine.optim_wrappers.amp_optim_wrapper as amp_module
    monkeypatch.setattr(amp_module, 'is_cuda_available', lambda: False)
    _check_amp('cpu', torch.bfloat16, make_batch)


@needs_cuda
def test_amp_runs_fusion_and_decoder_in_float16_on_cuda(make_batch):
    _check_amp('cuda', torch.float16, make_batch)


@needs_cuda
def test_overflowing_step_is_skipped_and_loss_scale_halves():
    torch.manual_seed(0)
    model = nn.Linear(8, 1).cuda()
    wrapper = AnyDeviceAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), dtype='float16')
    before = [p.detach().clone() for p in model.parameters()]
    x = torch.randn(4, 8, device='cuda')
    with wrapper.optim_context(model):
        loss = model(x).float().sum()
    scale = wrapper.loss_scaler.get_scale()
    wrapper.update_params(loss * 1e35)  # scaled by 65536: past float32's range -> inf grads
    assert wrapper.loss_scaler.get_scale() == scale / 2
    for p, b in zip(model.parameters(), before):
        assert torch.equal(p.detach(), b)  # the step was skipped
    with wrapper.optim_context(model):
        loss = model(x).float().sum()
    wrapper.update_params(loss)  # a finite step moves the weights
    assert not all(torch.equal(p.detach(), b) for p, b in zip(model.parameters(), before))
