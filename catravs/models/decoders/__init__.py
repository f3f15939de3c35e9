from .base_decoder import BaseQueryDecoder

__all__ = ['BaseQueryDecoder']
