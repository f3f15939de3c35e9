"""The six TPAVI configs (ResNet-50 / PVT-v2-b5 x S4 / MS3 / AVSS) and the tiny one: they
load, carry the released recipe (the expected values are read off the released scripts,
OpenNLPLab/AVSBench @ f7414af, avs_scripts/*/train.sh and train.py), and build; each model
runs a loss and a prediction on a small clip."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from catravs.analysis.complexity import strip_pretrained
from catravs.registry import MODELS
from catravs.structures import AVSDataSample
from tests.conftest import REPO_ROOT

BACKBONES = ('r50', 'pvt')
SUBSETS = ('s4', 'ms3', 'avss')
CONFIGS = [f'tpavi_{b}_{s}' for b in BACKBONES for s in SUBSETS]
#: subset -> (epochs, train / val / test clips per batch, frames per clip)
RELEASED = {'s4': (15, (4, 1, 4), 5), 'ms3': (30, (4, 1, 4), 5), 'avss': (60, (4, 4, 4), 10)}


def load(name: str) -> Config:
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', 'tpavi', f'{name}.py'))


@pytest.mark.parametrize('name', CONFIGS)
def test_config_holds_the_released_recipe(name):
    cfg = load(name)
    subset = name.rsplit('_', 1)[1]
    epochs, batches, _ = RELEASED[subset]
    model = cfg.model
    assert model.type == 'TPAVI' and tuple(model.stages) == (0, 1, 2, 3)
    assert model.neck.type == 'ASPPSumNeck' and tuple(model.neck.dilations) == (3, 6, 12, 18)
    assert model.neck.out_channels == 256 and 'out_levels' not in model.neck
    fusion = model.fusion
    assert (fusion.type, fusion.inter_channels, fusion.frames_per_group) == ('TPAVIBlock', 128, 5)
    assert fusion.impl == 'fast'
    assert fusion.audio_bias is (subset != 'avss')  # avss/model/TPAVI.py:39 has no bias
    assert (model.head.mid_channels, model.head.low_channels) == (128, 32)
    assert model.audio_encoder.type == 'VGGish' and model.audio_encoder.frozen
    matching = model.criterion.matching_loss
    if subset == 's4':
        assert matching is None and model.criterion.seg_loss.type == 'MaskBCELoss'
    else:
        assert (tuple(matching.stages), matching.loss_weight) == ((0, 1, 2, 3), 0.5)
        assert (matching.mask, matching.frames) == (('sigmoid', 'sum') if subset == 'ms3'
                                                    else ('argmax', 'mean'))
    assert (model.task, model.num_classes) == (('semantic', 71) if subset == 'avss'
                                               else ('binary', 1))
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4, weight_decay=0.0)
    assert 'clip_grad' not in cfg.optim_wrapper and cfg.param_scheduler == []
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.randomness.seed == 123
    assert (cfg.train_dataloader.batch_size, cfg.val_dataloader.batch_size,
            cfg.test_dataloader.batch_size) == batches
    train_types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert not any('Random' in t or t == 'ClipTorchvision' for t in train_types), train_types
    if subset == 'avss':
        assert (cfg.train_cfg.val_begin, cfg.train_cfg.val_interval) == (17, 2)
        assert cfg.default_hooks.checkpoint.save_best == 'mIoU(avsbench)'
    else:
        assert cfg.train_cfg.val_interval == 1
        assert cfg.test_evaluator.fscore_batch_size == 4  # test.sh --test_batch_size 4


def _small_batch(task: str, frames: int, size: int = 64):
    torch.manual_seed(0)
    gt = torch.randint(0, 2 if task == 'binary' else 71, (frames, size, size))
    sample = AVSDataSample(metainfo=dict(img_shape=(size, size), valid_frames=[True] * frames,
                                         annotated_frames=[True] * frames))
    sample.gt_masks = gt
    inputs = dict(frames=torch.randn(1, frames, 3, size, size),
                  audio=torch.randn(1, frames, 1, 96, 64))
    return inputs, [sample]


#: a full PVT-v2-b5 / ResNet-50 model built (about 1.5 GB) and run at 64 x 64
@pytest.mark.slow
@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_and_runs_a_small_clip(name):
    cfg = load(name)
    subset = name.rsplit('_', 1)[1]
    model = MODELS.build(strip_pretrained(cfg.model))
    # VGGish is frozen: not trained, so not in the optimiser (as released)
    assert not any(p.requires_grad for p in model.audio_encoder.parameters())
    inputs, samples = _small_batch(model.task, RELEASED[subset][2])
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == ({'loss_seg'} if subset == 's4' else {'loss_seg', 'loss_match'})
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    (pred,) = model(inputs, samples, mode='predict')
    assert pred.pred_masks.shape == (RELEASED[subset][2], 64, 64)


def test_tiny_config_builds_and_runs():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'tpavi', 'tpavi_tiny_synthavs.py'))
    model = MODELS.build(cfg.model)
    inputs, samples = _small_batch('binary', 5)
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_seg', 'loss_match'}
    total, _ = model.parse_losses(losses)
    total.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
