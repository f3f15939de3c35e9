"""Load a config (plugins included) and build a model from it."""
from __future__ import annotations

import os
import os.path as osp
from typing import Any

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope

from catravs.apis.config_loader import fromfile_with_plugins, import_plugins
from catravs.apis.runner_setup import add_repo_root_to_path
from catravs.utils.config_checks import check_top_level_keys

__all__ = ['load_config', 'init_model']


def load_config(config: str | os.PathLike | Config,
                cfg_options: dict[str, Any] | None = None) -> Config:
    """Read a config as the tools do, from any working directory.

    The repository root goes on ``sys.path`` first, so that ``projects.*``
    plugins named in ``custom_imports`` import without PYTHONPATH; a plugin that
    fails to import raises :class:`catravs.apis.config_loader.PluginImportError`.

    Args:
        config: a config file or a :class:`Config` (its custom imports are
            imported too).
        cfg_options: overrides, as ``--cfg-options`` takes them
            (``{'train_cfg.max_epochs': 1}``).
    """
    add_repo_root_to_path()
    if isinstance(config, Config):
        cfg = config.copy()
        import_plugins(cfg.get('custom_imports'), cfg.filename or '<Config object>')
    else:
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {os.fspath(config)} does not exist')
        cfg = fromfile_with_plugins(config)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    check_top_level_keys(cfg)
    return cfg


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
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'catravs')):
        model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_model_checkpoint(model, checkpoint, strict=strict)
    model.cfg = cfg
    return model.to(device).eval()
