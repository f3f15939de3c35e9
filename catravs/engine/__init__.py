"""Training-time pieces: hooks, optimizer wrappers, safe checkpoint loading."""
from .hooks import *  # noqa: F401,F403
from .optim_wrappers import AnyDeviceAmpOptimWrapper
from .safe_checkpoint import (CHECKPOINT_SAFE_GLOBALS, UnsafeCheckpointError,
                              register_safe_checkpoint_loader, safe_torch_load)

__all__ = ['AnyDeviceAmpOptimWrapper', 'CHECKPOINT_SAFE_GLOBALS', 'UnsafeCheckpointError',
           'register_safe_checkpoint_loader', 'safe_torch_load']
