from .base_audio_encoder import BaseAudioEncoder

__all__ = ['BaseAudioEncoder']
