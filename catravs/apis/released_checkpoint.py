"""Write a released checkpoint as a catravs checkpoint that loads strictly: every
method's converter tool, after parsing its arguments, is this function and a key table."""
from __future__ import annotations

import os.path as osp
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import Tensor

from catravs.engine.checkpoint_io import atomic_torch_save
from catravs.engine.strict_loading import CheckpointMismatchError, check_state_dict_fits
from catravs.models.backbones.pretrained import load_state_dict_file
from catravs.models.segmentors.released_keys import ReleasedKeyTable
from catravs.registry import MODELS, SCOPE

from .config_loader import load_config

__all__ = ['convert_released_checkpoint', 'vggish_extra_weights']

#: why a released checkpoint without VGGish weights next to it is refused
NO_VGGISH = ('pass --vggish FILE (torchvggish weights): the released checkpoint holds no '
             'audio encoder, and tools/test.py runs no init_weights, so without them VGGish '
             'would stay at random weights')


def vggish_extra_weights(path: Optional[str]) -> tuple[dict, str]:
    """``(extra, hint)`` for :func:`convert_released_checkpoint` when the released
    checkpoint holds no VGGish (CATR, TPAVI): the torchvggish file's tensors as
    ``audio_encoder.*`` (its PCA ``pproc.*`` left out), each with its source; with no file,
    nothing and the hint that says to pass one."""
    if not path:
        return {}, NO_VGGISH
    extra = {f'audio_encoder.{key}': (value, f'{path}: {key}')
             for key, value in load_state_dict_file(path).items()
             if not key.startswith('pproc.')}
    return extra, ''


def _meta_model(config: Union[str, Config]) -> torch.nn.Module:
    """The config's model on the ``meta`` device: keys and shapes, nothing allocated,
    nothing loaded or initialised."""
    cfg = load_config(config) if isinstance(config, str) else config
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', SCOPE)), \
            torch.device('meta'):
        return MODELS.build(cfg.model)


def convert_released_checkpoint(released: Mapping[str, Tensor], table: ReleasedKeyTable,
                                config: Union[str, Config], dst: str, source: str,
                                extra: Optional[Mapping[str, tuple[Tensor, str]]] = None,
                                hint: str = '') -> int:
    """Convert ``released`` with ``table``, check it against ``config``'s model, write it.

    Prints one line per kind of dropped dead key and ``wrote N tensors to DST``; on a
    problem, ``error: SOURCE: ...`` (an unknown key, or every missing key, unexpected
    key and wrong shape, each in catravs' naming with the released key it comes from)
    and ``nothing written``, to stderr.

    Args:
        released: the released state dict (read with
            :func:`catravs.models.backbones.pretrained.load_state_dict_file`).
        table: the method's key table.
        config: the config (file or loaded) whose model ``dst`` must load into strictly.
        dst: the catravs checkpoint to write (``{'state_dict', 'meta'}``).
        source: the released file, named in messages and in ``meta.converted_from``.
        extra: more weights, ``{catravs key: (tensor, where it came from)}`` (e.g. the
            VGGish weights that CATR's released checkpoint lacks).
        hint: appended to a mismatch message (what to pass to fix it).

    Returns:
        The exit code: 0 written, 1 refused (nothing written).
    """
    origins: dict[str, str] = {}
    try:
        converted, dropped = table.convert(released, origins)
        for key, (value, origin) in (extra or {}).items():
            converted[key], origins[key] = value, origin
        model = _meta_model(config)
        for key in model.state_dict().keys() - converted.keys():
            origin = table.to_released(key)
            if origin:
                origins[key] = origin
        check_state_dict_fits(model, converted, source, hint=hint, origins=origins)
    except (KeyError, CheckpointMismatchError) as err:
        message = err.args[0] if isinstance(err, KeyError) else str(err)
        print(f'error: {source}: {message}\nnothing written', file=sys.stderr)
        return 1
    for reason, count in Counter(dropped.values()).items():
        print(f'dropped {count:4d} dead keys: {reason}')
    atomic_torch_save({'state_dict': converted,
                       'meta': {'converted_from': osp.abspath(source)}}, dst)
    print(f'wrote {len(converted)} tensors to {dst}')
    return 0
