"""Training-time pieces: hooks, optimizer wrappers, safe and crash-safe checkpoints."""
from . import checkpoint_io, safe_checkpoint
from .checkpoint_io import atomic_torch_save, atomic_write_text, find_resumable_checkpoint
from .hooks import *  # noqa: F401,F403
from .optim_wrappers import AnyDeviceAmpOptimWrapper
from .safe_checkpoint import CHECKPOINT_SAFE_GLOBALS, UnsafeCheckpointError, safe_torch_load

__all__ = ['AnyDeviceAmpOptimWrapper', 'CHECKPOINT_SAFE_GLOBALS', 'UnsafeCheckpointError',
           'atomic_torch_save', 'atomic_write_text', 'checkpoint_io',
           'find_resumable_checkpoint', 'safe_checkpoint', 'safe_torch_load']
