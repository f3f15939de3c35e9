"""Python API: build a model or train from a config (plugins included), and run it on
frames, a video, or a video file with its soundtrack."""
from .clip_inference import inference_model
from .inference import init_model, load_config
from .training import train

__all__ = ['init_model', 'inference_model', 'load_config', 'train']
