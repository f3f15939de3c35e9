"""Compile the model's forward (backbone to head) as one graph, or each repeated block."""
from __future__ import annotations

from typing import Literal, Optional

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from catravs.registry import HOOKS

CompileScope = Literal['forward', 'regional']


def repeated_blocks(model: nn.Module) -> list[nn.Module]:
    """The children of every ``nn.ModuleList`` of two or more modules of one class that
    have submodules (PVT-v2 blocks, fusion and decoder layers...; not lists of single
    ``Linear`` or ``Conv2d`` layers), outermost first: a block inside a chosen block is not
    chosen again."""
    chosen: list[nn.Module] = []
    inside: set[int] = set()
    for module in model.modules():
        if id(module) in inside:
            continue
        if isinstance(module, nn.ModuleList) and len(module) >= 2 and \
                len({type(m) for m in module}) == 1 and \
                any(True for _ in module[0].children()):
            chosen.extend(module)
            inside.update(id(m) for block in module for m in block.modules())
    return chosen


def compile_forward(model: nn.Module, fullgraph: bool = True, mode: Optional[str] = None,
                    dynamic: Optional[bool] = None, backend: str = 'inductor',
                    scope: CompileScope = 'forward') -> nn.Module:
    """``torch.compile`` the ``_forward`` of ``model`` (unwrapped from DDP): backbone, neck,
    audio encoder, fusion, decoder and head, ``inputs -> outputs``; the data preprocessor,
    matcher, loss and optimizer step stay eager. ``fullgraph=True`` fails on any graph
    break. Returns the (unwrapped) model, changed in place.

    ``scope='regional'``: instead, each of :func:`repeated_blocks` is compiled
    (``nn.Module.compile``); blocks of one class and shape share one compiled graph (their
    weights are graph inputs), so compile time grows with the number of distinct blocks,
    not with depth; the code between the blocks runs eagerly.
    """
    module = model.module if is_model_wrapper(model) else model
    if not callable(getattr(module, '_forward', None)):
        raise TypeError(f'{type(module).__name__} has no _forward to compile '
                        '(CompileForwardHook takes catravs segmentors)')
    kwargs = dict(fullgraph=fullgraph, mode=mode, dynamic=dynamic, backend=backend)
    if scope == 'regional':
        blocks = repeated_blocks(module)
        if not blocks:
            raise ValueError(f'{type(module).__name__} has no repeated blocks to compile '
                             "(scope='regional'); use scope='forward'")
        for block in blocks:
            block.compile(**kwargs)
        return module
    if scope != 'forward':
        raise ValueError(f"compile scope must be 'forward' or 'regional', got {scope!r}")
    module._forward = torch.compile(module._forward, **kwargs)
    return module


@HOOKS.register_module()
class CompileForwardHook(Hook):
    """Before the run, compile the model's forward with :func:`compile_forward`.

    ``tools/train.py --compile`` adds it. MMEngine's own ``compile`` config key compiles
    ``train_step`` whole, where the Hungarian matcher (scipy) and the loss break the graph;
    this hook compiles the part that is one graph.

    Under DDP the Runner has wrapped the model before ``before_run``. The compiled forward
    is first called inside DDP's forward, so dynamo's DDP optimizer compiles the graph in
    one piece per gradient bucket, and each bucket's all-reduce starts while the backward
    of the rest runs (``torch._dynamo.config.optimize_ddp=False``: one piece, no overlap).

    ``scope='regional'`` compiles each repeated block instead (:func:`compile_forward`):
    a bounded first step for deep models.
    """

    priority = 'VERY_HIGH'

    def __init__(self, fullgraph: bool = True, mode: Optional[str] = None,
                 dynamic: Optional[bool] = None, backend: str = 'inductor',
                 scope: CompileScope = 'forward') -> None:
        self.kwargs = dict(fullgraph=fullgraph, mode=mode, dynamic=dynamic, backend=backend,
                           scope=scope)

    def before_run(self, runner) -> None:
        compile_forward(runner.model, **self.kwargs)
