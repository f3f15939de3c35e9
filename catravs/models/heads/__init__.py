from .base_mask_head import BaseMaskHead

__all__ = ['BaseMaskHead']
