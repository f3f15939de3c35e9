from .base_fusion import BaseFusion
from .fusion_output import FusionOutput

__all__ = ['BaseFusion', 'FusionOutput']
