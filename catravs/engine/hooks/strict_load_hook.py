"""Refuse, at MMEngine's ``after_load_checkpoint``, a checkpoint that does not fit."""
from __future__ import annotations

from mmengine.hooks import Hook

from catravs.engine.strict_loading import check_state_dict_fits, checkpoint_state_dict
from catravs.registry import HOOKS


@HOOKS.register_module()
class StrictLoadHook(Hook):
    """Refuse a checkpoint that does not fit the runner's model, before it is loaded.

    Runs at ``after_load_checkpoint``, which ``Runner.load_checkpoint`` and
    ``Runner.resume`` call with the checkpoint read from disk, before handing
    its weights to the model. ``tools/test.py`` adds it unless ``--allow-partial``.

    Args:
        source: the checkpoint's name in the error message.
    """

    priority = 'VERY_HIGH'

    def __init__(self, source: str = 'the checkpoint') -> None:
        self.source = source

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        check_state_dict_fits(runner.model, checkpoint_state_dict(checkpoint), self.source)
