from .audio_conditioned_decoder import AudioConditionedDecoder
from .audio_queried_decoder import AudioQueriedDecoder
from .audio_query_generator import AudioQueryGenerator
from .base_decoder import BaseQueryDecoder

__all__ = ['BaseQueryDecoder', 'AudioConditionedDecoder', 'AudioQueriedDecoder',
           'AudioQueryGenerator']
