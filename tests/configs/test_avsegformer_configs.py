"""The six AVSegFormer configs (ResNet-50 / PVT-v2-b5 x S4 / MS3 / AVSS): they load, carry
the released recipe (the expected values below are read off the released config files and
scripts, vvvb-github/AVSegFormer @ 7083cb6), and build; one model per backbone trains a
reduced-size step with the backbone frozen as FreezeModulesHook leaves it."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from catravs.analysis.complexity import strip_pretrained
from catravs.registry import HOOKS, MODELS, TRANSFORMS
from tests.conftest import REPO_ROOT

BACKBONES = ('r50', 'pvt')
SUBSETS = ('s4', 'ms3', 'avss')
CONFIGS = [f'avsegformer_{b}_{s}' for b in BACKBONES for s in SUBSETS]
#: subset -> (train_epochs, freeze_epochs, batch_size) of config/<subset>/*.py
RELEASED = {'s4': (30, 5, 2), 'ms3': (60, 10, 2), 'avss': (30, 0, 4)}


def load(name: str) -> Config:
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', 'avsegformer', f'{name}.py'))


@pytest.mark.parametrize('name', CONFIGS)
def test_config_holds_the_released_recipe(name):
    cfg = load(name)
    subset = name.rsplit('_', 1)[1]
    epochs, freeze, batch = RELEASED[subset]
    model = cfg.model
    assert model.type == 'AVSegFormer' and model.d_model == 256
    # head: 300 queries, 6 + 6 layers of width 256 / FFN 2048 / dropout 0.1, mix loss 0.1
    assert (model.decoder.num_queries, model.decoder.num_layers, model.decoder.d_model,
            model.decoder.dim_feedforward, model.decoder.dropout) == (300, 6, 256, 2048, 0.1)
    assert model.decoder.query_generator.num_layers == 6 and model.decoder.learnable_queries
    assert (model.neck.num_layers, model.neck.dim_feedforward, model.neck.dropout,
            tuple(model.neck.encoder_levels)) == (6, 2048, 0.1, (1, 2, 3))
    assert model.head.num_queries == 300
    assert (model.criterion.iou_weight, model.criterion.mix_weight) == (1.0, 0.1)
    assert model.audio_encoder.type == 'VGGish' and model.audio_encoder.frozen
    assert model.audio_encoder.init_cfg.checkpoint == 'pretrained/vggish-10086976.pth'
    backbone_file = ('pretrained/resnet50-19c8e357.pth' if '_r50_' in name
                     else 'pretrained/pvt_v2_b5.pth')
    assert model.backbone.init_cfg.checkpoint == backbone_file
    # optimisation: AdamW lr 2e-5 with torch's defaults, nothing else
    optim = cfg.optim_wrapper
    assert optim.optimizer == dict(type='AdamW', lr=2e-5, betas=(0.9, 0.999), eps=1e-8,
                                   weight_decay=0.01)
    assert 'clip_grad' not in optim and cfg.param_scheduler == []
    assert cfg.train_cfg.max_epochs == epochs
    (hook,) = [h for h in cfg.custom_hooks if h['type'] == 'FreezeModulesHook']
    assert hook['unfreeze_at'] == freeze and list(hook['module_names']) == ['backbone']
    assert cfg.find_unused_parameters is True
    assert cfg.randomness.seed == 123
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].batch_size == batch, loader
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.test_dataloader.dataset.split == 'test'
    if subset == 'avss':
        assert (model.task, model.num_classes) == ('semantic', 71)
        assert cfg.train_dataloader.dataset.num_frames == 10
        assert cfg.data_root == 'data/AVSBench/avss'
        assert cfg.val_evaluator.type == 'AVSSemanticMetric'
        assert cfg.default_hooks.checkpoint.save_best == 'mIoU(avsbench)'
        assert (cfg.train_cfg.val_begin, cfg.train_cfg.val_interval) == (11, 2)
    else:
        assert (model.task, model.num_classes) == ('binary', 1)
        assert cfg.train_dataloader.dataset.num_frames == 5
        assert cfg.data_root == f'data/AVSBench/{subset}'
        assert cfg.val_evaluator == dict(type='AVSBinaryMetric', fscore_batch_size=2)
        assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
        assert cfg.train_cfg.val_interval == 1


def _run(pipeline: list, results: dict) -> dict:
    """The geometric part of a pipeline (after the loading transforms, before packing)."""
    for step in pipeline:
        if step['type'].startswith('Load') or step['type'] == 'PackAVSInputs':
            continue
        results = TRANSFORMS.build(dict(step))(results)
    return results


@pytest.mark.parametrize('subset', SUBSETS)
def test_pipelines_give_the_released_sizes(subset):
    """S4 / MS3: 224 x 224 AVSBench frames and masks both to 512 (train and test, no
    augmentation); AVSS: 360 x 640 frames and labels to 224 (crop in training)."""
    cfg = load(f'avsegformer_r50_{subset}')
    num_frames = cfg.num_frames
    rng = np.random.default_rng(0)
    h, w = (224, 224) if subset != 'avss' else (360, 640)
    size = 224 if subset == 'avss' else 512
    for pipeline in (cfg.train_pipeline, cfg.test_pipeline):
        assert not any('Random' in str(step) for step in pipeline)
        frames = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(num_frames)]
        masks = np.zeros((num_frames, h, w), np.uint8)
        masks[:, 50:150, 60:160] = 1
        out = _run(pipeline, dict(frames=frames, gt_masks=masks, img_shape=(h, w),
                                  ori_shape=(h, w)))
        assert out['frames'][0].shape == (size, size, 3)
        assert out['gt_masks'].shape == (num_frames, size, size)
        assert set(np.unique(out['gt_masks'])) == {0, 1}


@pytest.mark.slow
@pytest.mark.parametrize('name', ['avsegformer_r50_s4', 'avsegformer_pvt_avss'])
def test_builds_and_trains_a_reduced_step_with_the_backbone_frozen(name, make_batch):
    """One model per backbone (PVT-v2-b5 + VGGish: 186 M parameters; 1-2.5 min each on a
    busy 2-core CPU), 1 clip x 2 frames x 64 x 64: finite loss; with the hook's freezing,
    the backbone and VGGish get no gradient and everything else does."""
    cfg = load(name)
    torch.manual_seed(0)
    model = MODELS.build(strip_pretrained(cfg.model))
    hook = HOOKS.build(cfg.custom_hooks[0])
    for p in model.backbone.parameters():  # what the hook does before unfreeze_at
        p.requires_grad_(hook.unfreeze_at == 0)
    model.train()
    semantic = cfg.model.task == 'semantic'
    batch = make_batch(batch=1, frames=2, size=64, task='semantic' if semantic else 'binary',
                       num_classes=cfg.model.num_classes)
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    total = sum(losses.values())
    assert torch.isfinite(total), losses
    total.backward()
    assert all(p.grad is None for p in model.audio_encoder.parameters())
    backbone_grads = [p.grad is not None for p in model.backbone.parameters()]
    assert all(backbone_grads) if hook.unfreeze_at == 0 else not any(backbone_grads)
    for part in ('neck', 'decoder', 'fusion', 'head', 'audio_proj'):
        grads = [p.grad for p in getattr(model, part).parameters() if p.requires_grad]
        assert grads and any(g is not None and g.abs().sum() > 0 for g in grads), part
