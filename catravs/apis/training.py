"""Train from Python: ``catravs.apis.train('projects/.../cfg.py', {'train_cfg.max_epochs': 1})``."""
from __future__ import annotations

import os
import os.path as osp
from typing import Any

from mmengine.config import Config

from .inference import load_config

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
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    cfg = load_config(config, cfg_options)
    cfg.launcher = 'none'
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(cfg.filename or 'config'))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    return runner
