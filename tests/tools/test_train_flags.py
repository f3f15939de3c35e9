"""``tools/train.py --amp`` and ``--compile`` act on the run they start (in-process ``main()``
on a tiny generated SynthAVS, one epoch on the CPU).

``--amp``: the runner's optim wrapper is ``AnyDeviceAmpOptimWrapper`` and the fusion's
and decoder's linear layers compute in bfloat16 during the training steps (CPU autocast).
``--compile``: the run calls ``torch.compile`` on the model's ``_forward`` with
``fullgraph=True`` (``CompileForwardHook``), so a graph break put into the fusion stops
the run with dynamo's error, where the same run without ``--compile`` trains.
"""
from __future__ import annotations

import importlib.util
import os.path as osp
import sys

import pytest
import torch
import torch.nn as nn

from catravs.datasets.synthavs import make_synthavs
from tests.conftest import REPO_ROOT

TOOL = osp.join(REPO_ROOT, 'tools', 'train.py')
CONFIG = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('catravs_train_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthavs') / 's4')
    return make_synthavs(root, 's4', num_train=2, num_val=1, num_test=1, image_size=32)


def train(data_root: str, work_dir: str, flags: list[str], monkeypatch, on_runner=None):
    """Run ``tools/train.py CONFIG --work-dir W *flags`` in this process for one epoch
    without validation; ``on_runner(runner)`` sees the runner before it trains.
    Returns the runner."""
    tool = load_tool()
    built = []

    def build_runner(cfg):
        runner = real_build_runner(cfg)
        if on_runner is not None:
            on_runner(runner)
        built.append(runner)
        return runner

    real_build_runner = tool.build_runner
    monkeypatch.setattr(tool, 'build_runner', build_runner)
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_begin=2', 'model.decoder.num_queries=4',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=5']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.batch_size=2',
                 f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    monkeypatch.setattr(sys, 'argv', [TOOL, CONFIG, '--work-dir', work_dir, *flags,
                                      '--cfg-options', *opts])
    tool.main()
    return built[0]


def _record_linear_dtypes(parts: tuple[str, ...], seen: dict):
    def on_runner(runner):
        for part in parts:
            for module in getattr(runner.model, part).modules():
                if isinstance(module, nn.Linear):
                    module.register_forward_hook(
                        lambda m, i, out, part=part: seen.setdefault(part, set()).add(out.dtype))
    return on_runner


def test_amp_flag_trains_in_bfloat16_on_cpu(tiny_data, tmp_path, monkeypatch):
    seen: dict = {}
    runner = train(tiny_data, str(tmp_path / 'amp'), ['--amp'], monkeypatch,
                   _record_linear_dtypes(('fusion', 'decoder'), seen))
    from catravs.engine import AnyDeviceAmpOptimWrapper
    assert type(runner.optim_wrapper) is AnyDeviceAmpOptimWrapper
    assert seen == {'fusion': {torch.bfloat16}, 'decoder': {torch.bfloat16}}, seen
    # master weights stay float32
    assert {p.dtype for p in runner.model.parameters()} == {torch.float32}


def test_without_amp_flag_the_run_is_float32(tiny_data, tmp_path, monkeypatch):
    """The control: the same run without --amp computes in float32."""
    seen: dict = {}
    runner = train(tiny_data, str(tmp_path / 'fp32'), [], monkeypatch,
                   _record_linear_dtypes(('fusion', 'decoder'), seen))
    from catravs.engine import AnyDeviceAmpOptimWrapper
    assert not isinstance(runner.optim_wrapper, AnyDeviceAmpOptimWrapper)
    assert seen == {'fusion': {torch.float32}, 'decoder': {torch.float32}}, seen


def _compile_eagerly(monkeypatch) -> list[dict]:
    """Let ``torch.compile`` trace with dynamo but hand the graph to the ``eager`` backend
    (no inductor build on the test machine); record the arguments of every call."""
    calls: list[dict] = []
    real_compile = torch.compile

    def compile_eagerly(fn, **kwargs):
        calls.append(dict(kwargs, fn=getattr(fn, '__name__', fn)))
        return real_compile(fn, **dict(kwargs, backend='eager', mode=None))

    monkeypatch.setattr(torch, 'compile', compile_eagerly)
    torch._dynamo.reset()
    return calls


def _break_the_graph_in_fusion(runner) -> None:
    fusion = runner.model.fusion
    forward = fusion.forward

    def forward_with_break(*args, **kwargs):
        torch._dynamo.graph_break()
        return forward(*args, **kwargs)

    fusion.forward = forward_with_break


def test_compile_flag_compiles_the_forward_as_one_graph(tiny_data, tmp_path, monkeypatch):
    calls = _compile_eagerly(monkeypatch)
    graphs_before = torch._dynamo.utils.counters['stats']['unique_graphs']
    runner = train(tiny_data, str(tmp_path / 'compiled'), ['--compile'], monkeypatch)
    assert [(c['fn'], c['fullgraph']) for c in calls] == [('_forward', True)], calls
    assert '_forward' in vars(runner.model)  # the compiled forward replaced the method
    # dynamo traced the forward (one graph per distinct input shape / mode)
    assert torch._dynamo.utils.counters['stats']['unique_graphs'] > graphs_before


def test_compile_flag_raises_on_a_graph_break(tiny_data, tmp_path, monkeypatch):
    _compile_eagerly(monkeypatch)
    from torch._dynamo.exc import Unsupported
    with pytest.raises(Unsupported, match='graph_break'):
        train(tiny_data, str(tmp_path / 'broken'), ['--compile'], monkeypatch,
              _break_the_graph_in_fusion)
    torch._dynamo.reset()
    # the same model without --compile trains: the error came from fullgraph=True
    train(tiny_data, str(tmp_path / 'eager'), [], monkeypatch, _break_the_graph_in_fusion)
