"""The model's forward (backbone, audio encoder, fusion, decoder, head) is one graph.

``torch._dynamo.explain`` traces ``CATR._forward`` on the CPU in train mode (dropout on)
and in eval mode and must count one graph and 0 breaks: under the compiler the stock path
runs (SDPA with ``dropout_p``, ``nn.Dropout``), never the CPU lean path. The fast variant
is ``catr_pvt_s4`` with a PVT-v2-b0 backbone (the same neck, audio encoder, fusion,
decoder and head); the full config (PVT-v2-b5) is slow. ``CompileForwardHook`` compiles
with ``fullgraph=True`` and trains.
"""
from __future__ import annotations

import os.path as osp

import pytest
import torch
from mmengine.config import Config

from catravs.analysis import benchmarking
from tests.conftest import REPO_ROOT, tiny_catr_cfg

S4 = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_pvt_s4.py')


def _model_and_inputs(model_cfg: dict, frames: int = 2, size: int = 64):
    model_cfg = benchmarking.prepare_model_cfg(model_cfg, 'ours')
    torch.manual_seed(0)
    model, _ = benchmarking.build_model(model_cfg, 'ours', 'cpu')
    batch = benchmarking.synthetic_batch(model, 1, frames, size, size)
    return model, model.data_preprocessor(batch, True)['inputs']


def _explain(model, inputs, train: bool):
    model.train(train)
    torch._dynamo.reset()
    return torch._dynamo.explain(model._forward)(inputs)


def _s4_cfg(backbone: dict | None = None) -> dict:
    cfg = Config.fromfile(S4)['model'].to_dict()
    if backbone is not None:
        cfg['backbone'] = backbone
    return cfg


@pytest.mark.parametrize('train', [True, False], ids=['train', 'eval'])
def test_catr_pvt_s4_forward_has_no_graph_break_small_backbone(train):
    model, inputs = _model_and_inputs(_s4_cfg(dict(type='PVTv2Backbone', arch='b0')))
    assert any(m.p > 0 for m in model.modules() if isinstance(m, torch.nn.Dropout))
    explained = _explain(model, inputs, train)
    assert explained.graph_break_count == 0, [b.reason for b in explained.break_reasons]
    assert explained.graph_count == 1


@pytest.mark.slow
def test_catr_pvt_s4_forward_has_no_graph_break():
    """The full config, PVT-v2-b5, in train mode (dropout and the backbone's stochastic
    depth on). PVT-v2-b5 runs the same block code as b0 with more blocks, so its eval mode
    (the same code with dropout and stochastic depth off) is covered by the b0 test above."""
    model, inputs = _model_and_inputs(_s4_cfg())
    explained = _explain(model, inputs, train=True)
    assert explained.graph_break_count == 0, [b.reason for b in explained.break_reasons]
    assert explained.graph_count == 1


def test_compile_forward_hook_compiles_one_graph_and_trains(make_batch):
    """fullgraph=True raises at the first graph break; the compiled model trains."""
    from mmengine.optim import OptimWrapper

    from catravs.engine.hooks import CompileForwardHook
    from catravs.registry import MODELS

    class FakeRunner:
        model = MODELS.build(tiny_catr_cfg())

    torch._dynamo.reset()
    CompileForwardHook(backend='eager').before_run(FakeRunner)
    model = FakeRunner.model.train()
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    log_vars = model.train_step(make_batch(batch=1, frames=2, size=32), wrapper)
    assert torch.isfinite(log_vars['loss'])
    with pytest.raises(TypeError, match='no _forward'):
        CompileForwardHook().before_run(type('R', (), {'model': torch.nn.Linear(2, 2)}))
