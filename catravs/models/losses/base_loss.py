"""Base class of the 'loss' model-part category, and losses in float32 under autocast."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('loss')
class BaseLoss(BaseModule):
    """A loss term; subclasses document their inputs and return a scalar Tensor."""


def _to_float32(value: Any) -> Any:
    if torch.is_tensor(value) and value.is_floating_point():
        return value.float()
    if isinstance(value, tuple) and hasattr(value, '_fields'):  # a NamedTuple
        return type(value)(*(_to_float32(v) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_to_float32(v) for v in value)
    return value


def _device_type(values: tuple) -> str:
    for value in values:
        if torch.is_tensor(value):
            return value.device.type
        if isinstance(value, (list, tuple)):
            found = _device_type(tuple(value))
            if found:
                return found
    return ''


def float32_loss(forward: Callable) -> Callable:
    """Run a loss's ``forward`` in float32 with autocast off on its inputs' device.

    Under float16 autocast the sums over every pixel of a clip (dice numerators and
    denominators, the matcher's cost over T * H * W pixels) pass float16's range
    (65504) and give inf / NaN; losses are computed in float32 whatever the forward ran in.
    Floating-point tensor arguments (also inside lists and tuples) are cast to float32.
    """
    @functools.wraps(forward)
    def wrapped(self, *args, **kwargs):
        device = _device_type(args + tuple(kwargs.values())) or 'cpu'
        with torch.autocast(device_type=device, enabled=False):
            return forward(self, *_to_float32(args),
                           **{k: _to_float32(v) for k, v in kwargs.items()})
    return wrapped
