"""AVSegFormer's forward compiles as one graph (issue 19), in train and eval mode, and runs
under CPU autocast. The real neck, decoder, fusion and head of
configs/_base_/models/avsegformer_pvt.py and the real VGGish; a tiny backbone stands in for
PVT-v2-b5 (tested on its own) to keep the trace short."""
from __future__ import annotations

import os.path as osp

import pytest
import torch
from mmengine.config import Config

from catravs.models.utils import ATTENTION_IMPLS, set_attention_impl
from catravs.registry import MODELS
from tests.conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'avsegformer_pvt.py')


@pytest.fixture(scope='module')
def model():
    cfg = Config.fromfile(CONFIG).model
    cfg.update(task='semantic', num_classes=71)
    cfg.backbone = dict(type='TinyConvBackbone', out_channels=[16, 32, 64, 128])
    cfg.audio_encoder.init_cfg = None
    return MODELS.build(cfg)


def inputs():
    torch.manual_seed(0)
    return dict(frames=torch.randn(1, 2, 3, 64, 64), audio=torch.randn(1, 2, 1, 96, 64))


def explain(model, mode: str):
    getattr(model, mode)()
    torch._dynamo.reset()
    try:
        return torch._dynamo.explain(model._forward)(inputs(), torch.tensor([[1.0, 0.0]]))
    finally:
        torch._dynamo.reset()


@pytest.mark.parametrize('mode', ['train', 'eval'])
def test_forward_is_one_graph_on_the_stock_path(model, mode):
    """Attention impl 'reference' (nn.Dropout and nn.MultiheadAttention's own forward)."""
    set_attention_impl(model, 'reference')
    result = explain(model, mode)
    assert result.graph_break_count == 0, [r.reason for r in result.break_reasons]
    assert result.graph_count == 1


@pytest.mark.parametrize('mode', ['train', 'eval'])
def test_forward_is_one_graph_on_the_default_path(model, mode):
    """Impl 'catravs', the configs' default: under compile the CPU lean path gives way
    to SDPA and nn.Dropout (issue 19), in train mode too."""
    set_attention_impl(model, _default_impl())
    result = explain(model, mode)
    assert result.graph_break_count == 0, [r.reason for r in result.break_reasons]
    assert result.graph_count == 1


def _default_impl() -> str:
    """The implementation the configs run (catravs' own path; 'reference' is the other)."""
    return ATTENTION_IMPLS[0]


def test_runs_under_cpu_bfloat16_autocast(model):
    model.eval()
    set_attention_impl(model, _default_impl())
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        logits, mask_feature = model(inputs(), mode='tensor')
    assert logits.shape == (2, 71, 64, 64) and mask_feature.shape == (2, 256, 16, 16)
    assert torch.isfinite(logits.float()).all()
