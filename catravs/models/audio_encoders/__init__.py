"""Audio encoders (category 'audio_encoder')."""
from .base_audio_encoder import BaseAudioEncoder
from .precomputed import PrecomputedAudioEmbedding
from .tiny_audio import TinyAudioEncoder
from .vggish import VGGISH_KEYS, VGGish, check_vggish_state_dict

__all__ = ['BaseAudioEncoder', 'VGGish', 'TinyAudioEncoder', 'PrecomputedAudioEmbedding',
           'VGGISH_KEYS', 'check_vggish_state_dict']
