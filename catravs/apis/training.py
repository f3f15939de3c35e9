"""Train from Python: ``catravs.apis.train('projects/.../cfg.py', {'train_cfg.max_epochs': 1})``."""
from __future__ import annotations

import os
from typing import Any

from mmengine.config import Config

from .config_loader import load_config
from .runner_setup import build_runner, set_work_dir

__all__ = ['train']


def train(config: str | os.PathLike | Config, cfg_options: dict[str, Any] | None = None,
          work_dir: str | None = None):
    """Train a config in this process (no launcher), as ``tools/train.py`` does.

    Args:
        config: config file or :class:`Config`; plugins in ``custom_imports`` are
            imported, from any working directory.
        cfg_options: config overrides (``{'train_cfg.max_epochs': 1}``).
        work_dir: logs and checkpoints; default: the config's ``work_dir`` or
            ``./work_dirs/<config name>``.

    Returns:
        The :class:`mmengine.runner.Runner` after training.
    """
    cfg = load_config(config, cfg_options)
    cfg.launcher = 'none'
    set_work_dir(cfg, work_dir)
    runner = build_runner(cfg)
    runner.train()
    return runner
