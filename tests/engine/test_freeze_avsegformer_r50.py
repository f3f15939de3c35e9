"""The released AVSegFormer schedule as the ResNet-50 S4 config writes it: its own
``FreezeModulesHook`` (``custom_hooks`` of ``schedules/avsegformer_adamw.py``) keeps the
backbone's weights put while frozen, and the backbone's BatchNorm layers meanwhile train
as the released code trains them: in train mode, normalising with batch statistics and
updating their running statistics (only ``requires_grad`` is switched off). From the
unfreeze epoch on the backbone's weights move.

A real Runner (catravs' ``build_runner``) on a generated SynthAVS clip at 64 x 64, one
iteration per epoch, two epochs; the hook's ``unfreeze_at`` is set to 1 (the config's is
5) to see both sides in two iterations.
"""
from __future__ import annotations

import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from catravs.apis.runner_setup import build_runner
from catravs.engine.hooks import FreezeModulesHook
from tests.conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'configs', 'avsegformer', 'avsegformer_r50_s4.py')


class _Recorder(Hook):
    """Backbone weights, BatchNorm running means and the neck's weights after each epoch;
    at each step, whether the backbone requires gradients and its BatchNorms train."""

    def __init__(self):
        self.weights, self.running, self.neck, self.steps = {}, {}, {}, []

    def _snapshot(self, runner, key):
        model = runner.model
        self.weights[key] = [p.detach().clone() for p in model.backbone.parameters()]
        self.running[key] = [m.running_mean.clone() for m in model.backbone.modules()
                             if isinstance(m, torch.nn.BatchNorm2d)]
        self.neck[key] = [p.detach().clone() for p in model.neck.parameters()]

    def before_train(self, runner):
        self._snapshot(runner, 0)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        backbone = runner.model.backbone
        norms = [m for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        self.steps.append((runner.epoch, any(p.requires_grad for p in backbone.parameters()),
                           all(m.training for m in norms)))

    def after_train_epoch(self, runner):
        self._snapshot(runner, runner.epoch + 1)


def _same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory) -> str:
    from catravs.datasets.synthavs import make_synthavs
    return make_synthavs(tmp_path_factory.mktemp('synthavs'), 's4', num_train=1, num_val=1,
                         num_test=1, image_size=64, seed=0)


@pytest.mark.slow
def test_r50_config_freezes_the_backbone_while_its_batchnorm_trains(tiny_data, tmp_path):
    cfg = Config.fromfile(CONFIG)
    hooks = [h for h in cfg.custom_hooks if h['type'] == 'FreezeModulesHook']
    assert len(hooks) == 1 and hooks[0]['module_names'] == ['backbone']
    assert hooks[0]['unfreeze_at'] == 5  # the released S4 freeze_epochs
    hooks[0]['unfreeze_at'] = 1
    cfg.model.backbone.init_cfg = None  # no pretrained files here
    cfg.model.audio_encoder.init_cfg = None
    pipeline = [dict(type='LoadClipFrames'), dict(type='LoadClipMasks', mask_type='binary'),
                dict(type='LoadClipAudio', source='log_mel'), dict(type='PackAVSInputs')]
    cfg.train_dataloader = dict(
        batch_size=1, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='S4Dataset', data_root=tiny_data, split='train', num_frames=5,
                     pipeline=pipeline))
    for split in ('val', 'test'):
        cfg[f'{split}_dataloader'] = cfg[f'{split}_cfg'] = cfg[f'{split}_evaluator'] = None
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.visualization = None
    cfg.work_dir = str(tmp_path)
    runner = build_runner(cfg)
    assert [type(h) for h in runner.hooks].count(FreezeModulesHook) == 1
    rec = _Recorder()
    runner.register_hook(rec)
    runner.train()
    # epoch 0 frozen: the weights stay, the BatchNorms train and update their statistics
    assert rec.steps == [(0, False, True), (1, True, True)]
    assert _same(rec.weights[0], rec.weights[1])
    changed = [not torch.equal(a, b) for a, b in zip(rec.running[0], rec.running[1])]
    assert changed and all(changed), f'{changed.count(False)} running means did not move'
    assert not any(torch.equal(a, b) for a, b in zip(rec.neck[0], rec.neck[1]))
    # epoch 1 trains the backbone
    assert not _same(rec.weights[1], rec.weights[2])
