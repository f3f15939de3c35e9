from .base_mask_head import BaseMaskHead
from .dynamic_mask_head import DynamicMaskHead
from .fpn_pixel_decoder import FPNPixelDecoder

__all__ = ['BaseMaskHead', 'DynamicMaskHead', 'FPNPixelDecoder']
