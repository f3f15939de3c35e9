"""The six CATR configs (ResNet-50 / PVT-v2-b5 x S4 / MS3 / AVSS) and their revised variants:
they load, carry the released code's hyper-parameters, build, and train one step on the CPU.

Every config's full model trains one step on 1 clip of its own number of frames (5, AVSS
10) at 96 x 96 (slow tier: PVT-v2-b5 and ResNet-50 at their full depth); a step of 2
frames at 64 x 64 runs in the fast tier for three of them. The frame size does not change
what is checked (the model builds, the loss is finite, every trainable part gets a
gradient, the frozen VGGish none): 96 is a multiple of the backbones' stride 32.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from catravs.analysis.complexity import strip_pretrained
from catravs.registry import MODELS, TRANSFORMS
from tests.conftest import REPO_ROOT

BACKBONES = ('r50', 'pvt')
SUBSETS = ('s4', 'ms3', 'avss')
CONFIGS = [f'catr_{b}_{s}' for b in BACKBONES for s in SUBSETS]
VARIANTS = [f'variants/catr_revised_{b}_{s}' for b in BACKBONES for s in SUBSETS]
TRAINABLE_PARTS = ('backbone', 'neck', 'audio_proj', 'input_proj', 'fusion', 'decoder', 'head')


def load(name: str) -> Config:
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', 'catr', f'{name}.py'))


def build(cfg: Config) -> torch.nn.Module:
    torch.manual_seed(0)
    return MODELS.build(strip_pretrained(cfg.model))


def build_on_meta(cfg: Config) -> torch.nn.Module:
    """The config's model with shapes but no values: every constructor runs, no weight is
    allocated or initialised (a second for PVT-v2-b5 instead of many)."""
    with torch.device('meta'):
        return MODELS.build(strip_pretrained(cfg.model))


@pytest.mark.parametrize('name', CONFIGS)
def test_config_holds_the_authors_hyper_parameters(name):
    cfg = load(name)
    model = cfg.model
    assert model.d_model == 256
    fusion, decoder = model.fusion, model.decoder
    assert (fusion.type, fusion.d_model, fusion.nhead, fusion.num_layers,
            fusion.dim_feedforward, fusion.temporal_feedforward, fusion.dropout) == (
                'ReleasedCATRFusion', 256, 8, 3, 2048, 2048, 0.1)
    assert (decoder.num_queries, decoder.nhead, decoder.num_layers, decoder.dim_feedforward,
            decoder.query_init) == (50, 8, 3, 2048, 'learned')
    assert model.neck.dilations == (3, 6, 12, 18) and model.neck.out_levels == (1, 2, 3)
    assert (model.head.mask_dim, model.head.kernel_layers) == (64, 2)
    assert model.head.pixel_decoder.type == 'ReleasedFPNDecoder'
    assert model.loss_resolution == 'label'
    crit = model.criterion
    assert (crit.matcher.cost_class, crit.matcher.cost_dice) == (2.0, 7.0)
    assert (crit.loss_cls.loss_weight, crit.loss_cls.eos_coef, crit.loss_cls.normalize) == (
        1.0, 0.1, 'frames')
    assert (crit.loss_focal.loss_weight, crit.loss_dice.loss_weight,
            crit.loss_bce.loss_weight) == (5.0, 5.0, 4.0)
    assert crit.loss_bce.released_double_sigmoid and crit.aux_loss
    assert model.neck.weight_std == 0.01 and model.decoder.xavier_init
    # frozen VGGish and pretrained files under pretrained/
    assert model.audio_encoder.type == 'VGGish' and model.audio_encoder.frozen
    assert model.audio_encoder.init_cfg.checkpoint == 'pretrained/vggish-10086976.pth'
    backbone_file = ('pretrained/resnet50-19c8e357.pth' if '_r50_' in name
                     else 'pretrained/pvt_v2_b5.pth')
    assert model.backbone.init_cfg.checkpoint == backbone_file
    # optimisation: Adam 1e-5, clip 5, 2 clips per GPU, seed 123, best on val
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.optim_wrapper.optimizer.lr == 1e-5
    assert cfg.optim_wrapper.clip_grad.max_norm == 5.0
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.randomness.seed == 123
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.test_dataloader.dataset.split == 'test'
    # frames to 448, labels kept at their size
    for pipeline in (cfg.train_pipeline, cfg.test_pipeline):
        resize = [t for t in pipeline if t['type'] == 'ClipResize']
        assert resize and resize[-1]['scale'] == 448 and resize[-1]['resize_masks'] is False
    if name.endswith('_avss'):
        assert (model.task, model.num_classes) == ('semantic', 71)
        assert cfg.train_dataloader.dataset.num_frames == 10
        assert cfg.data_root == 'data/AVSBench/avss'
    else:
        assert (model.task, model.num_classes) == ('binary', 1)
        assert cfg.train_dataloader.dataset.num_frames == 5
        assert cfg.data_root == f'data/AVSBench/{name.rsplit("_", 1)[1]}'


@pytest.mark.parametrize('name', VARIANTS)
def test_revised_variants_change_only_the_model(name):
    """A variant differs from its released config in the model parts it names, nothing else."""
    variant, base = load(name), load(name.replace('variants/catr_revised_', 'catr_'))
    assert variant.model.fusion.type == 'CombinatorialDependenceFusion'
    assert variant.model.head.pixel_decoder.type == 'FPNPixelDecoder'
    assert variant.model.loss_resolution == 'prediction'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'optim_wrapper',
                'train_cfg', 'randomness', 'default_hooks'):
        assert variant[key] == base[key], key
    for key in ('backbone', 'audio_encoder', 'task', 'num_classes'):
        assert variant.model[key] == base.model[key], key
    assert {**variant.model.decoder, 'xavier_init': True} == base.model.decoder
    model = build_on_meta(variant)
    assert type(model.fusion).__name__ == 'CombinatorialDependenceFusion'
    assert type(model.head.pixel_decoder).__name__ == 'FPNPixelDecoder'


def _run(pipeline: list, results: dict) -> dict:
    """The geometric part of a pipeline (after the loading transforms, before packing)."""
    for step in pipeline:
        if step['type'].startswith('Load') or step['type'] == 'PackAVSInputs':
            continue
        results = TRANSFORMS.build(dict(step))(results)
    return results


@pytest.mark.parametrize('subset', SUBSETS)
def test_pipelines_feed_448_frames_and_keep_224_labels(subset):
    cfg = load(f'catr_r50_{subset}')
    num_frames = cfg.num_frames
    rng = np.random.default_rng(0)
    h, w = (224, 224) if subset != 'avss' else (360, 640)
    for pipeline in (cfg.train_pipeline, cfg.test_pipeline):
        frames = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(num_frames)]
        masks = np.zeros((num_frames, h, w), np.uint8)
        masks[:, 50:150, 60:160] = 1
        out = _run(pipeline, dict(frames=frames, gt_masks=masks, img_shape=(h, w),
                                  ori_shape=(h, w)))
        assert out['frames'][0].shape == (448, 448, 3)
        assert out['gt_masks'].shape == (num_frames, 224, 224)
        assert out['img_shape'] == (448, 448)


def parts_without_gradient(model: torch.nn.Module) -> list[str]:
    dead = []
    for name in TRAINABLE_PARTS:
        params = [p for p in getattr(model, name).parameters() if p.requires_grad]
        if not params or all(p.grad is None or not p.grad.abs().sum() for p in params):
            dead.append(name)
    return dead


def train_step(name: str, make_batch, frames: int, size: int) -> None:
    cfg = load(name)
    model = build(cfg)
    model.train()
    assert not any(p.requires_grad for p in model.audio_encoder.parameters())  # frozen VGGish
    semantic = cfg.model.task == 'semantic'
    batch = make_batch(batch=1, frames=frames, size=size,
                       task='semantic' if semantic else 'binary',
                       num_classes=cfg.model.num_classes)
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    total = sum(losses.values())
    assert torch.isfinite(total), losses
    total.backward()
    assert parts_without_gradient(model) == []
    assert all(p.grad is None for p in model.audio_encoder.parameters())


@pytest.mark.parametrize('name', ['catr_r50_s4', 'catr_r50_avss',
                                  'variants/catr_revised_r50_s4'])
def test_reduced_size_train_step(name, make_batch):
    """The full model on 1 clip x 2 frames x 64 x 64: finite loss, every part learns."""
    train_step(name, make_batch, frames=2, size=64)


@pytest.mark.slow
@pytest.mark.parametrize('name', CONFIGS)
def test_full_model_train_step(name, make_batch):
    """The full model on 1 clip of the config's ``num_frames`` (5, AVSS 10) x 96 x 96."""
    train_step(name, make_batch, frames=load(name).num_frames, size=96)
