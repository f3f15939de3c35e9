"""Strict checkpoint loading: a weight the checkpoint does not hold stops the run.

MMEngine's runner loads ``load_from`` with ``strict=False``: a checkpoint of
another model, or one that lacks a part (a converted checkpoint without the
audio encoder), loads half-way with only a warning, and the weights it lacks
keep their initial values (the runner's ``test()`` calls no ``init_weights``, so
for a pretrained part that means random). Here every loader is strict unless
asked: :func:`check_state_dict_fits` names the missing keys, the unexpected keys
and the shape mismatches, in the model's naming;
:class:`catravs.engine.hooks.StrictLoadHook` runs it at MMEngine's public
``after_load_checkpoint`` hook point (``tools/test.py``),
:func:`load_model_checkpoint` around MMEngine's ``_load_checkpoint`` /
``load_state_dict`` (``init_model``, ``tools/video_demo.py``), and the model
converters call it on what they are about to write (through
:func:`catravs.apis.convert_released_checkpoint`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper
from torch import Tensor

from catravs.models.backbones.pretrained import compare_state_dict, format_keys

__all__ = ['CheckpointMismatchError', 'check_state_dict_fits',
           'checkpoint_state_dict', 'load_model_checkpoint']

#: what MMEngine's ``load_checkpoint`` strips from every key by default
MODULE_PREFIX = re.compile(r'^module\.')
PARTIAL_HINT = ('to load it partially on purpose, pass --allow-partial (tools) or '
                'strict=False (init_model)')


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model: missing / unexpected keys or wrong shapes."""


def checkpoint_state_dict(checkpoint: Mapping[str, Any]) -> dict[str, Tensor]:
    """The model weights of a loaded checkpoint as MMEngine loads them.

    ``checkpoint['state_dict']`` (or the mapping itself), with a DataParallel /
    DDP ``module.`` prefix removed, as ``mmengine.runner.load_checkpoint``'s
    default ``revise_keys`` does.
    """
    state = checkpoint.get('state_dict', checkpoint)
    return {MODULE_PREFIX.sub('', k): v for k, v in state.items()}


def check_state_dict_fits(model: nn.Module, state_dict: Mapping[str, Tensor], source: str,
                          hint: str = PARTIAL_HINT,
                          origins: Optional[Mapping[str, str]] = None) -> None:
    """Raise unless ``state_dict`` sets every weight of ``model``, and nothing else.

    Works on a model built on the ``meta`` device. BatchNorm's
    ``num_batches_tracked`` counters may be absent (they are not weights).

    Args:
        model: the model (a wrapper's ``.module`` is taken).
        state_dict: keys in the model's naming.
        source: the file (or what produced the dict), named in the message.
        hint: what to do about it, appended to the message.
        origins: a converter's map from each key to the key it came from in
            ``source`` (for a missing key: the key it would come from); the message
            names both.

    Raises:
        CheckpointMismatchError: naming every missing key (left at its initial
            value), unexpected key and shape mismatch.
    """
    if is_model_wrapper(model):
        model = model.module
    report, mismatched = compare_state_dict(model, state_dict)
    origins = origins or {}

    def named(entry: str) -> str:
        key = entry.split(':', 1)[0]
        return f'{entry} (from {origins[key]})' if origins.get(key, key) != key else entry

    mismatched = [named(e) for e in mismatched]
    report.unexpected = [named(k) for k in report.unexpected]
    report.missing = [named(k) for k in report.missing]
    problems = []
    if report.missing:
        problems.append(f'{len(report.missing)} weights missing (they would keep their '
                        f'initial values): {format_keys(report.missing)}')
    if mismatched:
        problems.append(f'{len(mismatched)} of another shape: {format_keys(mismatched, 10)}')
    if report.unexpected:
        problems.append(f'{len(report.unexpected)} keys the model does not have: '
                        f'{format_keys(report.unexpected)}')
    if problems:
        raise CheckpointMismatchError(
            f'{source} does not fit the {type(model).__name__} model: '
            + '; '.join(problems) + (f'. {hint}' if hint else ''))


def load_model_checkpoint(model: nn.Module, filename: str, strict: bool = True,
                          map_location: str = 'cpu',
                          logger: Optional[str] = 'current') -> dict:
    """Load ``filename`` into ``model``; strict unless ``strict=False``.

    Reads with MMEngine's ``_load_checkpoint`` (catravs' weights-only loader
    behind it) and loads with MMEngine's ``load_state_dict``, which logs what a
    partial load leaves out.

    Raises:
        CheckpointMismatchError: ``strict`` and the checkpoint does not fit.
    """
    from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    state = checkpoint_state_dict(checkpoint)
    if strict:
        check_state_dict_fits(model, state, filename)
    load_state_dict(model.module if is_model_wrapper(model) else model, state,
                    strict=False, logger=logger)
    return checkpoint
