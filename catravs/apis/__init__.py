"""Python API: build a model or train from a config (plugins included), run it on
frames, a video, or a video file with its soundtrack, and convert released checkpoints."""
from .clip_inference import inference_model
from .config_loader import load_config
from .inference import init_model
from .released_checkpoint import convert_released_checkpoint, vggish_extra_weights
from .training import train

__all__ = ['convert_released_checkpoint', 'vggish_extra_weights', 'init_model',
           'inference_model', 'load_config', 'train']
