"""Checks on a whole config before a Runner reads it."""
from __future__ import annotations

import difflib

from mmengine.config import Config

#: The top-level keys that MMEngine's Runner (0.10.7) and the catravs tools read.
RUNNER_KEYS = frozenset({
    'model', 'work_dir', 'experiment_name', 'launcher', 'default_scope', 'custom_imports',
    'train_dataloader', 'val_dataloader', 'test_dataloader',
    'train_cfg', 'val_cfg', 'test_cfg', 'val_evaluator', 'test_evaluator',
    'optim_wrapper', 'param_scheduler', 'auto_scale_lr',
    'default_hooks', 'custom_hooks', 'data_preprocessor',
    'load_from', 'resume', 'env_cfg', 'randomness', 'log_processor', 'log_level',
    'visualizer', 'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile',
    'efficient_conv_bn_eval', 'activation_checkpointing', 'runner_type', 'cfg',
})


class ConfigKeyError(KeyError):
    """A top-level config key that looks like a misspelt Runner key."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def check_top_level_keys(cfg: Config, cutoff: float = 0.85) -> None:
    """Refuse top-level keys that are near misses of keys the Runner reads.

    MMEngine's ``Runner.from_cfg`` reads the keys it knows and ignores the rest,
    so ``trian_cfg=...`` would silently train with the defaults. Configs also
    hold their own variables at top level (``data_root``, ``train_pipeline``),
    so only a key that is not known but is close to a known one is an error.

    Raises:
        ConfigKeyError: naming the config file, the key and the likely intended key.
    """
    for key in cfg.keys():
        if key in RUNNER_KEYS or key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, RUNNER_KEYS, n=1, cutoff=cutoff)
        if close:
            raise ConfigKeyError(
                f"{cfg.filename or '<config>'}: unknown top-level key '{key}'; did you mean "
                f"'{close[0]}'? The Runner ignores keys it does not know, so the run would "
                f"silently use the default {close[0]}.")
