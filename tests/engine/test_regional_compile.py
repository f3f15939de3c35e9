"""Regional compilation: each repeated block compiled, blocks of one class and shape once."""
from __future__ import annotations

import collections

import pytest
import torch
from torch._dynamo.testing import CompileCounter

from catravs.analysis import benchmarking
from catravs.engine.hooks import CompileForwardHook, compile_forward
from catravs.engine.hooks.compile_forward_hook import repeated_blocks
from catravs.models.utils import FFN
from tests.conftest import tiny_catr_cfg


def _tiny_catr():
    torch.manual_seed(0)
    model, _ = benchmarking.build_model(
        benchmarking.prepare_model_cfg(tiny_catr_cfg(), 'ours'), 'ours', 'cpu')
    return model


def test_repeated_blocks_are_the_layers_of_module_lists() -> None:
    model = _tiny_catr()
    blocks = repeated_blocks(model)
    kinds = collections.Counter(type(b).__name__ for b in blocks)
    assert kinds['EncoderLayer'] >= 2 and kinds['DecoderLayer'] >= 2, kinds
    assert not any(isinstance(b, (torch.nn.Linear, torch.nn.Conv2d)) for b in blocks)
    inside = {id(m) for b in blocks for m in b.modules() if m is not b}
    assert not any(id(b) in inside for b in blocks)  # none nested in another
    plain = torch.nn.ModuleList([FFN(8, 16), torch.nn.Linear(8, 8)])  # mixed: not a block list
    assert repeated_blocks(torch.nn.Sequential(plain)) == []


def test_blocks_of_one_class_and_shape_share_one_graph() -> None:
    """Six FFN blocks in a list, compiled regionally: dynamo compiles the first block's
    frame, then once more for the second (its guards on the first instance fail), and the
    other four reuse that graph; the outputs are the eager ones."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    blocks = torch.nn.ModuleList([FFN(8, 16, dropout=0.0) for _ in range(6)])
    x = torch.randn(2, 5, 8)
    want = x
    for block in blocks:
        want = block(want)
    counter = CompileCounter()
    for block in repeated_blocks(torch.nn.Sequential(blocks)):
        block.compile(backend=counter, fullgraph=True)
    got = x
    for block in blocks:
        got = block(got)
    assert counter.frame_count == 2
    torch.testing.assert_close(got, want)


def test_regional_compile_trains_like_eager() -> None:
    """``compile_forward(scope='regional')`` on the tiny CATR (dynamo's eager backend: the
    graphs, without code generation): the same losses as the eager model, no graph break
    inside a block (fullgraph); an unknown scope is refused."""
    model, other = _tiny_catr(), _tiny_catr()
    other.load_state_dict(model.state_dict())
    model.eval(), other.eval()  # no dropout: the same numbers
    batch = benchmarking.synthetic_batch(model, 1, 2, 32, 32)
    torch._dynamo.reset()
    compile_forward(other, scope='regional', backend='eager')
    data = model.data_preprocessor(batch, True)
    want = model(**data, mode='loss')
    got = other(**other.data_preprocessor(batch, True), mode='loss')
    for key, value in want.items():
        torch.testing.assert_close(got[key], value, msg=key)
    with pytest.raises(ValueError, match='compile scope'):
        compile_forward(_tiny_catr(), scope='everything')
    no_blocks = type('NoBlocks', (torch.nn.Module,), {'_forward': lambda self: 0})()
    with pytest.raises(ValueError, match='no repeated blocks'):
        compile_forward(no_blocks, scope='regional')
    assert CompileForwardHook(scope='regional').kwargs['scope'] == 'regional'
