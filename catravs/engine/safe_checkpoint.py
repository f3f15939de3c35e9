"""Load checkpoints with ``weights_only=True`` and an explicit allow-list.

MMEngine 0.10.7 reads checkpoints with a plain ``torch.load``; since torch 2.6
that means ``weights_only=True``, which refuses the non-tensor objects that
MMEngine itself writes (the message hub's ``HistoryBuffer``, numpy arrays and
scalars). catravs allow-lists exactly those types and re-registers MMEngine's
local-file loader so that resume, ``load_from``, testing and inference all go
through it. Anything else pickled in a checkpoint (a callable, an unknown class)
is refused with an error that says which object and why; there is no fallback
to unrestricted unpickling.
"""
from __future__ import annotations

import copyreg
import os.path as osp
import pickle
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


def _numpy_globals() -> list[Any]:
    """The numpy objects a pickled array, dtype or scalar refers to."""
    core = getattr(np, '_core', None) or np.core
    allowed: list[Any] = [np.ndarray, np.dtype, core.multiarray._reconstruct,
                          core.multiarray.scalar]
    # dtype classes (numpy >= 1.25 pickles e.g. numpy.dtypes.Float64DType)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return allowed


#: Everything a catravs / MMEngine checkpoint may hold beyond tensors and builtins.
CHECKPOINT_SAFE_GLOBALS: list[Any] = [HistoryBuffer, *_numpy_globals()]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object that is not on the allow-list."""


class DamagedCheckpointError(RuntimeError):
    """A checkpoint file is truncated or corrupt."""


def safe_torch_load(filename: str, map_location: Any = None) -> Any:
    """``torch.load(weights_only=True)`` with catravs' allow-list.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        UnsafeCheckpointError: the file pickles an object outside the allow-list.
        DamagedCheckpointError: the file is truncated or corrupt.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found')
    try:
        with torch.serialization.safe_globals(CHECKPOINT_SAFE_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeCheckpointError(
            f'refusing to load checkpoint {filename}: it holds a pickled object that is '
            'not a tensor, a builtin container or one of the types MMEngine checkpoints '
            'hold (HistoryBuffer, numpy arrays and scalars). Unpickling it could run '
            f'arbitrary code. torch says: {str(exc).splitlines()[0]}') from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        from .checkpoint_io import is_complete_checkpoint
        if is_complete_checkpoint(filename):
            raise
        raise DamagedCheckpointError(
            f'cannot load checkpoint {filename}: the file is truncated or damaged (an '
            'interrupted save or copy?). Use an earlier checkpoint; `--resume` without a '
            f'path picks the newest complete one. torch says: {exc}') from exc


def _reduce_history_buffer(buffer: HistoryBuffer) -> tuple:
    """Pickle a HistoryBuffer as ``HistoryBuffer()`` + its data, without methods."""
    state = {k: v for k, v in vars(buffer).items() if k != 'statistics_methods'}
    return HistoryBuffer, (), state


copyreg.pickle(HistoryBuffer, _reduce_history_buffer)


def _load_from_local(filename: str, map_location: Any = None) -> Any:
    return safe_torch_load(filename, map_location)


def register_safe_checkpoint_loader() -> None:
    """Route MMEngine's local checkpoint loading through :func:`safe_torch_load`."""
    CheckpointLoader.register_scheme(prefixes='', force=True)(_load_from_local)


register_safe_checkpoint_loader()
