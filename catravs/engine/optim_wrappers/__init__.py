from .amp_optim_wrapper import AnyDeviceAmpOptimWrapper
from .autocast_optim_wrapper import AutocastOptimWrapper

__all__ = ['AnyDeviceAmpOptimWrapper', 'AutocastOptimWrapper']
