"""Build a model from a config (plugins included) and load its checkpoint."""
from __future__ import annotations

import os
from typing import Any

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope

from catravs.apis.config_loader import load_config
from catravs.registry import SCOPE

__all__ = ['init_model']


def init_model(config: str | os.PathLike | Config, checkpoint: str | None = None,
               device: str = 'cpu', cfg_options: dict[str, Any] | None = None,
               strict: bool = True) -> nn.Module:
    """Build the model of a config, optionally load a checkpoint, in eval mode.

    Args:
        config: config file or :class:`Config` (plugins in ``custom_imports`` are
            imported).
        checkpoint: a checkpoint file (loaded with catravs' weights-only loader).
        device: where to put the model.
        cfg_options: config overrides.
        strict: the checkpoint must set every weight of the model, with the
            model's shapes and no other key; otherwise
            :class:`~catravs.engine.strict_loading.CheckpointMismatchError` names
            the keys (a checkpoint of another model, e.g. trained without the
            config's plugin, fails instead of loading partially). ``False``
            loads what fits, and MMEngine logs what it left out.

    Returns:
        The model (``model.cfg`` holds the config), in eval mode on ``device``.
    """
    from catravs.engine.strict_loading import load_model_checkpoint
    from catravs.registry import MODELS

    cfg = load_config(config, cfg_options)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', SCOPE)):
        model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_model_checkpoint(model, checkpoint, strict=strict)
    model.cfg = cfg
    return model.to(device).eval()
