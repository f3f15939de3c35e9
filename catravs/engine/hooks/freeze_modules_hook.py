"""Keep some of the model's modules frozen until an epoch (or iteration), then train them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from catravs.registry import HOOKS


def _submodule(model: nn.Module, name: str) -> nn.Module:
    module = model
    for part in name.split('.'):
        if not hasattr(module, part):
            raise AttributeError(
                f'FreezeModulesHook: the model ({type(model).__name__}) has no module '
                f'{name!r} (custom_hooks: module_names)')
        module = getattr(module, part)
    if not isinstance(module, nn.Module):
        raise TypeError(f'FreezeModulesHook: model.{name} is a {type(module).__name__}, '
                        f'not an nn.Module (custom_hooks: module_names)')
    return module


@HOOKS.register_module()
class FreezeModulesHook(Hook):
    """Train the named modules only from epoch (or iteration) ``unfreeze_at`` on.

    Before that, their parameters have ``requires_grad=False``: they get no gradient, and
    optimizers skip parameters without one (``torch.optim.AdamW`` and ``Adam`` apply no
    step and no weight decay to them; their state stays empty). This is the released
    AVSegFormer schedule: the backbone is frozen when the model is built and unfrozen at
    the start of epoch ``freeze_epochs`` (0-based; ``scripts/s4/train.py:76-77``).

    Only ``requires_grad`` changes: BatchNorm layers keep the mode the loop sets (the
    released code trains its frozen ResNet-50 with batch statistics). The state follows
    ``runner.epoch`` (or ``runner.iter``) before every training iteration, so a run
    resumed before, at or after ``unfreeze_at`` freezes exactly as an uninterrupted one.

    MMEngine's default optimizer constructor puts every parameter into the optimizer,
    frozen or not, so nothing has to be rebuilt at the switch. Under
    DistributedDataParallel, the wrapper must know all these parameters when it is built
    (they have to require gradients then, as they do unless the model freezes them
    itself) and, while they are frozen, get none: set ``find_unused_parameters = True``
    in the config (or in its ``model_wrapper_cfg``); the hook refuses a DDP run
    without it.

    Args:
        unfreeze_at: first epoch (``by_epoch``) or iteration, 0-based, in which the
            modules train. 0: they train from the start (the hook only checks the names).
        module_names: attribute paths of the modules on the model (``'backbone'``,
            ``'head.pixel_decoder'``).
        by_epoch: count ``unfreeze_at`` in epochs (default) or in iterations.
    """

    priority = 'HIGH'

    def __init__(self, unfreeze_at: int, module_names: Sequence[str] = ('backbone',),
                 by_epoch: bool = True) -> None:
        if isinstance(unfreeze_at, bool) or not isinstance(unfreeze_at, int) \
                or unfreeze_at < 0:
            raise ValueError(f'FreezeModulesHook: unfreeze_at must be an int >= 0, got '
                             f'{unfreeze_at!r}')
        if isinstance(module_names, str) or not module_names:
            raise ValueError(f'FreezeModulesHook: module_names must be a non-empty list of '
                             f'attribute paths, got {module_names!r}')
        self.unfreeze_at = unfreeze_at
        self.module_names = tuple(module_names)
        self.by_epoch = by_epoch
        self._frozen: Optional[bool] = None

    def _modules(self, runner) -> list[nn.Module]:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return [_submodule(model, name) for name in self.module_names]

    def _progress(self, runner) -> int:
        return runner.epoch if self.by_epoch else runner.iter

    def _apply(self, runner, frozen: bool) -> None:
        for module in self._modules(runner):
            for param in module.parameters():
                param.requires_grad_(not frozen)
        if self._frozen is not None or frozen:
            unit = 'epoch' if self.by_epoch else 'iteration'
            runner.logger.info(
                f'{", ".join(self.module_names)}: '
                f'{"frozen until" if frozen else "trained from"} {unit} {self.unfreeze_at} '
                f'(now at {unit} {self._progress(runner)})')
        self._frozen = frozen

    def before_train(self, runner) -> None:
        self._frozen = None
        self._modules(runner)  # a wrong name fails before the first step
        frozen = self._progress(runner) < self.unfreeze_at
        if frozen and is_model_wrapper(runner.model) \
                and hasattr(runner.model, 'find_unused_parameters') \
                and not runner.model.find_unused_parameters:
            raise RuntimeError(
                'FreezeModulesHook: frozen modules get no gradient, which '
                'DistributedDataParallel refuses unless it looks for unused parameters: '
                'set find_unused_parameters = True in the config (or in its '
                'model_wrapper_cfg)')
        self._apply(runner, frozen)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        frozen = self._progress(runner) < self.unfreeze_at
        if frozen != self._frozen:
            self._apply(runner, frozen)
