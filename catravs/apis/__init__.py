"""Python API: build a model or train from a config (plugins included), and run it on
frames, a video, or a video file with its soundtrack."""
from .clip_inference import inference_model
from .config_loader import load_config
from .inference import init_model
from .training import train

__all__ = ['init_model', 'inference_model', 'load_config', 'train']
