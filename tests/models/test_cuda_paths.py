"""The model's CUDA paths (skipped without a GPU; run by tools/analysis_tools/gpu_checks.sh):
SDPA against the reference attention on the GPU, the CPU lean path never chosen there,
and training steps of the tiny CATR in float32 and with float16 AMP."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from catravs.engine import AnyDeviceAmpOptimWrapper
from catravs.models.utils import FFN, MultiheadAttention, cpu_lean
from catravs.registry import MODELS
from tests.conftest import tiny_catr_cfg

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')


def test_sdpa_matches_torch_attention_on_cuda():
    torch.manual_seed(0)
    ours = MultiheadAttention(64, 4, dropout=0.1).cuda().eval()
    ref = nn.MultiheadAttention(64, 4, dropout=0.1, batch_first=True).cuda().eval()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(3, 50, 64, device='cuda', requires_grad=True)
    mask = torch.zeros(3, 50, dtype=torch.bool, device='cuda')
    mask[1, -7:] = True
    out = ours(x, x, x, mask)
    expected = ref(x, x, x, key_padding_mask=mask, need_weights=False)[0]
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=1e-4)
    g1 = torch.autograd.grad(out.square().sum(), x)[0]
    g2 = torch.autograd.grad(expected.square().sum(), x)[0]
    torch.testing.assert_close(g1, g2, atol=1e-4, rtol=1e-4)


def test_training_on_cuda_takes_the_stock_path(monkeypatch):
    """With dropout in training, attention and FFN on CUDA never call the CPU lean path:
    SDPA with ``dropout_p`` and ``nn.Dropout``."""
    def refuse(*args, **kwargs):
        raise AssertionError('the CPU lean path ran on CUDA')

    for name in ('dropout_attention', 'dropout', 'relu_dropout'):
        monkeypatch.setattr(cpu_lean, name, refuse)
    torch.manual_seed(0)
    mha = MultiheadAttention(64, 4, dropout=0.2).cuda().train()
    ffn = FFN(64, 128, dropout=0.2).cuda().train()
    x = torch.randn(3, 50, 64, device='cuda', requires_grad=True)
    ffn(mha(x, x, x)).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize('amp', [False, True], ids=['fp32', 'fp16_amp'])
def test_tiny_catr_trains_on_cuda(make_batch, amp):
    torch.manual_seed(0)
    model = MODELS.build(tiny_catr_cfg()).cuda().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    wrapper = (AnyDeviceAmpOptimWrapper(optimizer=optimizer, dtype='float16') if amp
               else OptimWrapper(optimizer=optimizer))
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    batch = make_batch(batch=2, frames=3, size=64)
    for _ in range(2):
        log_vars = model.train_step(batch, wrapper)
    assert torch.isfinite(log_vars['loss'].detach())
    changed = [n for n, p in model.named_parameters() if n in before
               and not torch.equal(p.detach(), before[n])]
    assert len(changed) > len(before) // 2
