"""A released method's own training step, timed like catravs' (the reference's reference).

The released code is imported read-only from a checkout that the user names; nothing of it
is copied into catravs. Each method's module gives two functions (the released code's
interface differs from method to method):

- ``import_released(root) -> SimpleNamespace`` of the released classes and functions, with
  :func:`check_imported_from` so that a module found elsewhere on the path is refused;
- ``released_train_step(released, frames, size, device, seed, losses) -> step()``: the
  released model, loss and optimiser built with random weights, VGGish embeddings given (as
  the released ``train.py`` computes them outside the model under ``no_grad``), one clip;
  ``step()`` is one optimiser step of the released ``train.py``'s loop.

:func:`measure_released_step` times ``step()`` after the warm-up steps. Where CUDA is absent,
``Tensor.cuda`` and ``Module.cuda`` return the object itself (the released code calls
``.cuda()`` unconditionally).
"""
from __future__ import annotations

import importlib
import os
import statistics
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import torch
import torch.nn as nn

from .benchmarking import machine_info, peak_memory_bytes, time_steps

__all__ = ['RELEASED_METHODS', 'check_imported_from', 'patch_cuda_calls',
           'measure_released_step']

#: method name -> the module (in this package) with its released step
RELEASED_METHODS = {'catr': 'released_catr_step', 'tpavi': 'released_tpavi_step'}


def patch_cuda_calls() -> None:
    """``.cuda()`` returns the object itself (only where CUDA is absent)."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    nn.Module.cuda = lambda self, *args, **kwargs: self


def check_imported_from(root: str, modules: Sequence[ModuleType]) -> None:
    """``ImportError`` naming the file and ``root`` when a module came from elsewhere."""
    root = os.path.realpath(root)
    for module in modules:
        found = os.path.realpath(module.__file__ or '')
        if not found.startswith(root + os.sep):
            raise ImportError(f'{module.__name__} was imported from {found}, not from the '
                              f'released folder {root}: put {root} first on PYTHONPATH')


def method_module(method: str) -> ModuleType:
    """The released-step module of ``method`` (a key of :data:`RELEASED_METHODS`)."""
    if method not in RELEASED_METHODS:
        raise ValueError(f'no released training step for {method!r}; '
                         f'known: {sorted(RELEASED_METHODS)}')
    return importlib.import_module(f'{__package__}.{RELEASED_METHODS[method]}')


def measure_released_step(method: str, root: str, shape: Sequence[int], steps: int,
                          warmup: int, device: str = 'cpu',
                          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Time ``steps`` released training steps of ``method`` after ``warmup``; a result dict
    in the form of :func:`catravs.analysis.benchmarking.measure_model`'s
    (``path='released'``)."""
    t, h, w = shape
    if h != w:
        raise ValueError(f'the released model takes square frames; got {h} x {w}')
    if not torch.cuda.is_available():
        patch_cuda_calls()
    module = method_module(method)
    losses: list[float] = []
    step = module.released_train_step(module.import_released(root), t, h, device,
                                      losses=losses)
    all_times = time_steps(step, steps, warmup, device, progress)
    times = all_times[warmup:]
    median = statistics.median(times)
    return dict(path='released', method=method, task='train', device=device, clips=1,
                shape=[t, h, w], amp=False, first_step_s=all_times[0], step_s=median,
                times=times, clips_per_s=1 / median, frames_per_s=t / median,
                peak_bytes=peak_memory_bytes(device), losses=losses,
                notes=['the released code, random weights'], machine=machine_info(device))
