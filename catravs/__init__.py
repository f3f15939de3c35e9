"""catravs: audio-visual video segmentation (CATR and friends) on MMEngine."""
from .version import __version__
from .utils.env_check import check_torch_family

check_torch_family()

__all__ = ['__version__']
