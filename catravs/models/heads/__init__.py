from .base_dense_head import BaseDenseHead
from .base_mask_head import BaseMaskHead, BasePerQueryMaskHead, BaseQueryMixingHead
from .base_pixel_decoder import BasePixelDecoder
from .dynamic_mask_head import DynamicMaskHead
from .fpn_pixel_decoder import FPNPixelDecoder
from .query_mixing_mask_head import QueryMixingMaskHead
from .refinenet_head import RefineNetHead
from .released_fpn_decoder import ReleasedFPNDecoder

__all__ = ['BaseDenseHead', 'BaseMaskHead', 'BasePerQueryMaskHead', 'BasePixelDecoder',
           'BaseQueryMixingHead', 'DynamicMaskHead', 'FPNPixelDecoder', 'QueryMixingMaskHead',
           'RefineNetHead', 'ReleasedFPNDecoder']
