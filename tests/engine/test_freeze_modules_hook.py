"""FreezeModulesHook under a real Runner: the backbone's weights stay put before the unfreeze
epoch and move after it, the rest trains throughout, and a run resumed before, at or after
that epoch ends with the same weights as an uninterrupted one (the oracle: that run)."""
from __future__ import annotations

import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from catravs.engine.hooks import FreezeModulesHook
from catravs.engine.safe_checkpoint import safe_torch_load
from tests.engine.test_resume import write_tiny_config

MAX_EPOCHS, UNFREEZE = 3, 2


class _Recorder(Hook):
    """Backbone / fusion weights (key: epochs done), and requires_grad at each iteration."""

    def __init__(self):
        self.backbone, self.fusion, self.trainable = {}, {}, []

    def _snapshot(self, runner, key):
        model = runner.model
        self.backbone[key] = [p.detach().clone() for p in model.backbone.parameters()]
        self.fusion[key] = [p.detach().clone() for p in model.fusion.parameters()]

    def before_train(self, runner):
        self._snapshot(runner, runner.epoch)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.trainable.append((runner.epoch, all(
            p.requires_grad for p in runner.model.backbone.parameters())))

    def after_train_epoch(self, runner):
        self._snapshot(runner, runner.epoch + 1)  # the loop counts the epoch up after this


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory) -> str:
    from catravs.datasets.synthavs import make_synthavs
    return make_synthavs(tmp_path_factory.mktemp('synthavs'), 's4', num_train=4, num_val=2,
                         num_test=2, image_size=32, seed=0)


def make_runner(tiny_data: str, work_dir: str, max_epochs: int = MAX_EPOCHS,
                resume: bool = False, unfreeze_at: int = UNFREEZE) -> tuple[Runner, _Recorder]:
    cfg = Config.fromfile(write_tiny_config(osp.join(work_dir + '.py'), tiny_data))
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=100)
    cfg.param_scheduler = []
    cfg.log_processor = dict(by_epoch=True)
    cfg.optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-2))
    cfg.default_hooks.checkpoint = dict(type='AtomicCheckpointHook', interval=1,
                                        max_keep_ckpts=5)
    cfg.default_hooks.pop('visualization', None)
    cfg.custom_hooks = [dict(type='FreezeModulesHook', unfreeze_at=unfreeze_at)]
    cfg.randomness = dict(seed=7, deterministic=False)
    cfg.resume = resume
    runner = Runner.from_cfg(cfg)
    recorder = _Recorder()
    runner.register_hook(recorder)
    return runner, recorder


def test_backbone_moves_only_from_the_unfreeze_epoch(tiny_data, tmp_path):
    runner, rec = make_runner(tiny_data, str(tmp_path / 'run'))
    runner.train()
    same = [all(torch.equal(a, b) for a, b in zip(rec.backbone[0], rec.backbone[e]))
            for e in range(1, MAX_EPOCHS + 1)]
    # epochs 0 and 1 (0-based) frozen: weights equal to the initial ones; epoch 2 trains
    assert same == [True, True, False]
    assert all(not torch.equal(a, b) for a, b in zip(rec.backbone[2], rec.backbone[3]))
    # the rest of the model trains from the first epoch on
    assert not any(torch.equal(a, b) for a, b in zip(rec.fusion[0], rec.fusion[1]))
    assert sorted(set(rec.trainable)) == [(0, False), (1, False), (2, True)]
    # AdamW holds no state for the backbone before it trains
    ckpt = safe_torch_load(str(tmp_path / 'run' / 'epoch_2.pth'))
    num_backbone = len(list(runner.model.backbone.parameters()))
    num_params = len(list(runner.model.parameters()))
    assert len(ckpt['optimizer']['state']) == num_params - num_backbone
    final = safe_torch_load(str(tmp_path / 'run' / 'epoch_3.pth'))
    assert len(final['optimizer']['state']) == num_params


@pytest.mark.slow
@pytest.mark.parametrize('stop_at', [1, 2], ids=['before_unfreeze', 'at_unfreeze'])
def test_resume_across_the_unfreeze_epoch(tiny_data, tmp_path, stop_at):
    """Train ``stop_at`` epochs, resume to MAX_EPOCHS: the backbone's and the whole
    model's final weights equal those of the uninterrupted run (CPU, same seed)."""
    full, _ = make_runner(tiny_data, str(tmp_path / 'full'))
    full.train()
    first, _ = make_runner(tiny_data, str(tmp_path / 'split'), max_epochs=stop_at)
    first.train()
    resumed, rec = make_runner(tiny_data, str(tmp_path / 'split'), resume=True)
    resumed.train()
    assert sorted(set(rec.trainable)) == [(e, e >= UNFREEZE) for e in range(stop_at,
                                                                            MAX_EPOCHS)]
    a = safe_torch_load(str(tmp_path / 'full' / f'epoch_{MAX_EPOCHS}.pth'))['state_dict']
    b = safe_torch_load(str(tmp_path / 'split' / f'epoch_{MAX_EPOCHS}.pth'))['state_dict']
    different = [k for k in a if not torch.allclose(a[k].double(), b[k].double(),
                                                    rtol=0, atol=1e-6)]
    assert different == []


def test_bad_arguments_are_named(tiny_data, tmp_path):
    with pytest.raises(ValueError, match='unfreeze_at'):
        FreezeModulesHook(unfreeze_at=-1)
    with pytest.raises(ValueError, match='module_names'):
        FreezeModulesHook(unfreeze_at=1, module_names='backbone')
    runner, _ = make_runner(tiny_data, str(tmp_path / 'bad'))
    hook = FreezeModulesHook(unfreeze_at=1, module_names=('backbone', 'no_such.part'))
    with pytest.raises(AttributeError, match="no module 'no_such.part'"):
        hook.before_train(runner)
