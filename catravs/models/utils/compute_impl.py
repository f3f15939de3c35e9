"""Switching a built model to the released code's way of computing.

Parts that compute one function two ways carry a string attribute ``impl`` whose value
``'reference'`` means "as the released code computes it": the attention layers and the
transformer FFN of CATR and AVSegFormer (``'catravs'`` | ``'reference'``,
:mod:`.attention`) and TPAVI's block (``'fast'`` | ``'reference'``,
:class:`catravs.models.fusions.TPAVIBlock`). :func:`set_reference_impl` finds them by that
attribute, so a new part joins the benchmark's reference path by having one.
"""
from __future__ import annotations

from torch import nn

__all__ = ['set_reference_impl']


def set_reference_impl(model: nn.Module) -> list[str]:
    """Set ``impl = 'reference'`` on every module of ``model`` that has a string ``impl``
    attribute; returns the names (as ``named_modules`` gives them, ``''`` for ``model``
    itself) of the modules switched."""
    switched = []
    for name, module in model.named_modules():
        if isinstance(getattr(module, 'impl', None), str):
            module.impl = 'reference'
            switched.append(name)
    return switched
