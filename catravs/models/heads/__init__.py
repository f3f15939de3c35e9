from .base_mask_head import BaseMaskHead, BasePerQueryMaskHead, BaseQueryMixingHead
from .base_pixel_decoder import BasePixelDecoder
from .dynamic_mask_head import DynamicMaskHead
from .fpn_pixel_decoder import FPNPixelDecoder
from .query_mixing_mask_head import QueryMixingMaskHead
from .released_fpn_decoder import ReleasedFPNDecoder

__all__ = ['BaseMaskHead', 'BasePerQueryMaskHead', 'BasePixelDecoder', 'BaseQueryMixingHead',
           'DynamicMaskHead', 'FPNPixelDecoder', 'QueryMixingMaskHead', 'ReleasedFPNDecoder']
