"""Transforms of AVS clips (registered in ``catravs.registry.TRANSFORMS``) and audio helpers."""
from .audio import *  # noqa: F401,F403  (every public name of audio.py)
from .audio import __all__ as _audio_all
from .audio import load_wav, vggish_log_mel  # noqa: F401  (required by the loaders)
from .formatting import DEFAULT_META_KEYS, PackAVSInputs
from .geometric import (
    ClipRandomCrop,
    ClipRandomFlip,
    ClipResize,
    ClipShortSideResizeCenterCrop,
)
from .loading import IGNORE_INDEX, LoadClipAudio, LoadClipFrames, LoadClipMasks, silence_log_mel
from .torchvision_clip import ClipTorchvision

__all__ = [
    *_audio_all,
    'LoadClipFrames', 'LoadClipMasks', 'LoadClipAudio', 'silence_log_mel', 'IGNORE_INDEX',
    'ClipResize', 'ClipRandomFlip', 'ClipRandomCrop',
    'ClipShortSideResizeCenterCrop', 'ClipTorchvision', 'PackAVSInputs', 'DEFAULT_META_KEYS',
]
