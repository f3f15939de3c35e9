"""CompileForwardHook under DDP, as a distributed run builds it.

The Runner wraps the model in ``MMDistributedDataParallel`` before the hook's
``before_run`` compiles ``module._forward``. The compiled forward is then first called
inside DDP's forward, so dynamo compiles it through its DDP optimizer: the one graph is
split at DDP's bucket boundaries, and each bucket's all-reduce can start while the rest
of the backward runs. The oracle is the same model, uncompiled and unwrapped, on the same
weights: its losses and the weights after each optimizer step must agree.
"""
from __future__ import annotations

import torch
from mmengine.model.wrappers import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from torch._dynamo.backends import distributed as dynamo_ddp

from catravs.engine.hooks import CompileForwardHook
from catravs.registry import MODELS
from tests.conftest import tiny_catr_cfg


def _no_dropout_cfg() -> dict:
    cfg = tiny_catr_cfg(audio_dropout=0.0)
    cfg['fusion']['dropout'] = 0.0
    cfg['decoder']['dropout'] = 0.0
    return cfg


def test_the_compiled_forward_under_ddp_trains_as_the_eager_model(
        one_process_group, make_batch, monkeypatch):
    """With ``find_unused_parameters=True`` (the AVSegFormer configs), DDP also walks the
    autograd graph through the compiled forward's node."""
    splits = []
    compile_fn = dynamo_ddp.DDPOptimizer.compile_fn

    def spy(self, gm, example_inputs):
        splits.append(self.bucket_bytes_cap)
        return compile_fn(self, gm, example_inputs)

    monkeypatch.setattr(dynamo_ddp.DDPOptimizer, 'compile_fn', spy)

    torch.manual_seed(0)
    plain = MODELS.build(_no_dropout_cfg()).train()
    other = MODELS.build(_no_dropout_cfg()).train()
    other.load_state_dict(plain.state_dict())
    before = [p.detach().clone() for p in plain.parameters()]
    ddp = MMDistributedDataParallel(other, broadcast_buffers=False,
                                    find_unused_parameters=True)
    torch._dynamo.reset()
    CompileForwardHook(backend='aot_eager').before_run(type('Runner', (), {'model': ddp})())
    assert splits == []  # compiled on the first call, inside DDP's forward

    wrappers = [OptimWrapper(torch.optim.SGD(m.parameters(), lr=0.1)) for m in (plain, other)]
    batch = make_batch(batch=1, frames=2, size=32)
    for _ in range(2):
        want = plain.train_step(batch, wrappers[0])
        got = ddp.train_step(batch, wrappers[1])
        torch.testing.assert_close(got['loss'], want['loss'], rtol=1e-5, atol=1e-6)
        for (name, a), b in zip(other.named_parameters(), plain.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    assert splits == [ddp.bucket_bytes_cap]  # one compilation, through DDP's bucketing
    assert any(not torch.equal(a, b) for a, b in zip(plain.parameters(), before))
