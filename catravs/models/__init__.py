"""Models: the segmentors (CATR, AVSegFormer) and their registered parts, one category per
subpackage."""
from .audio_encoders import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .builder import build_model_part, registered_in_category
from .data_preprocessor import AVSDataPreprocessor
from .decoders import *  # noqa: F401,F403
from .fusions import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403

__all__ = ['AVSDataPreprocessor', 'build_model_part', 'registered_in_category']
