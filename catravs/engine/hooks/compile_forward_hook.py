"""Compile the model's forward (backbone to head) as one graph."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from catravs.registry import HOOKS


def compile_forward(model: nn.Module, fullgraph: bool = True, mode: Optional[str] = None,
                    dynamic: Optional[bool] = None, backend: str = 'inductor') -> nn.Module:
    """``torch.compile`` the ``_forward`` of ``model`` (unwrapped from DDP): backbone, neck,
    audio encoder, fusion, decoder and head, ``inputs -> outputs``; the data preprocessor,
    matcher, loss and optimizer step stay eager. ``fullgraph=True`` fails on any graph
    break. Returns the (unwrapped) model, changed in place."""
    module = model.module if is_model_wrapper(model) else model
    if not callable(getattr(module, '_forward', None)):
        raise TypeError(f'{type(module).__name__} has no _forward to compile '
                        '(CompileForwardHook takes catravs segmentors)')
    module._forward = torch.compile(module._forward, fullgraph=fullgraph, mode=mode,
                                    dynamic=dynamic, backend=backend)
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
    """

    priority = 'VERY_HIGH'

    def __init__(self, fullgraph: bool = True, mode: Optional[str] = None,
                 dynamic: Optional[bool] = None, backend: str = 'inductor') -> None:
        self.kwargs = dict(fullgraph=fullgraph, mode=mode, dynamic=dynamic, backend=backend)

    def before_run(self, runner) -> None:
        compile_forward(runner.model, **self.kwargs)
