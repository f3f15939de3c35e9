"""Python API: build a model or train from a config, plugins (``custom_imports``) included."""
from .inference import init_model, load_config
from .training import train

__all__ = ['init_model', 'load_config', 'train']
