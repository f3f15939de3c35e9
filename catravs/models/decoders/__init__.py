from .audio_queried_decoder import AudioQueriedDecoder
from .base_decoder import BaseQueryDecoder

__all__ = ['BaseQueryDecoder', 'AudioQueriedDecoder']
