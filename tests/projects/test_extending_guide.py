"""docs/extending.md: every ``python`` sketch runs, and the parts compose into a working CATR."""
from __future__ import annotations

import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

from catravs.models import build_model_part
from catravs.registry import DATASETS, METRICS, MODELS, TRANSFORMS, category_of

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GUIDE = osp.join(REPO_ROOT, 'docs', 'extending.md')


def guide_blocks() -> list[str]:
    with open(GUIDE, encoding='utf-8') as f:
        return re.findall(r'```python\n(.*?)```', f.read(), flags=re.S)


@pytest.fixture
def guide(registry_guard):
    """Run the guide's sketches as a plugin module (its classes are unregistered after)."""
    namespace = {'__name__': 'catravs_test_plugin_guide'}
    blocks = guide_blocks()
    # dataset, transform, backbone, audio, two fusions, decoder, loss, metric
    assert len(blocks) == 9
    for block in blocks:
        exec(compile(block, GUIDE, 'exec'), namespace)  # noqa: S102 - our own documentation
    return namespace


def test_sketches_register_in_their_categories(guide):
    expected = dict(StridedConvBackbone='visual_backbone', MelPoolAudioEncoder='audio_encoder',
                    AudioFiLMFusion='fusion', AudioAffineMapFusion='fusion',
                    LearnedQueryDecoder='decoder', MaskL1Loss='loss')
    for name, category in expected.items():
        assert category_of(MODELS.get(name)) == category, name
    assert DATASETS.get('MyClipsDataset') is guide['MyClipsDataset']
    assert TRANSFORMS.get('ClipRandomBrightness') is guide['ClipRandomBrightness']
    assert METRICS.get('ClipIoUMetric') is guide['ClipIoUMetric']


def test_dataset_and_transform_sketches(guide, tmp_path):
    (tmp_path / 'clips.csv').write_text('name,split\na,train\nb,val\nc,train\n')
    with DefaultScope.overwrite_default_scope('catravs'):
        ds = DATASETS.build(dict(type='MyClipsDataset', data_root=str(tmp_path), split='train',
                                 check_files=False))
    assert len(ds) == 2
    info = ds.get_data_info(1)
    assert info['clip_id'] == 'c' and info['annotated_frames'] == [True] * 5
    assert info['frame_paths'][4] == osp.join(str(tmp_path), 'frames', 'c', '5.png')
    assert info['wav_path'] == osp.join(str(tmp_path), 'audio', 'c.wav')

    np.random.seed(0)
    frames = [np.full((8, 8, 3), 100, np.uint8) for _ in range(5)]
    out = guide['ClipRandomBrightness'](delta=0.5)(dict(frames=frames))
    values = {int(f[0, 0, 0]) for f in out['frames']}
    assert len(values) == 1 and values != {100}  # one factor for the whole clip


def test_model_part_sketches_keep_the_documented_shapes(guide):
    feats = guide['StridedConvBackbone']()(torch.randn(2, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(2, 16, 16, 16), (2, 32, 8, 8), (2, 64, 4, 4),
                                              (2, 128, 2, 2)]
    assert guide['MelPoolAudioEncoder'](out_channels=24)(torch.randn(6, 1, 96, 64)).shape == (6, 24)
    out = guide['AudioFiLMFusion'](d_model=32)(torch.randn(2, 5, 32, 4, 4),
                                               torch.randn(2, 5, 32, 4, 4), torch.randn(2, 5, 32))
    assert out.video.shape == (10, 32, 4, 4) and out.memory.shape == (10, 17, 32)
    assert out.memory_pos.shape == out.memory.shape
    mixed = guide['AudioAffineMapFusion'](dim=32)(torch.randn(10, 32, 4, 4), torch.randn(10, 1, 32))
    assert mixed.shape == (10, 32, 4, 4)
    queries = guide['LearnedQueryDecoder'](num_queries=8, d_model=32, nhead=4)(
        out.memory, out.memory_pos, torch.randn(10, 32))
    assert queries.shape == (2, 10, 8, 32)
    loss = guide['MaskL1Loss']()(torch.randn(3, 20), torch.ones(3, 20), torch.ones(3, 20), 3.0)
    assert loss.dim() == 0 and 0 < loss < 1


def test_sketches_compose_into_a_catr_that_trains_and_evaluates(guide, make_batch):
    from tests.conftest import tiny_catr_cfg
    cfg = tiny_catr_cfg(
        backbone=dict(type='StridedConvBackbone', out_channels=(8, 16, 16, 32)),
        audio_encoder=dict(type='MelPoolAudioEncoder', out_channels=16),
        fusion=dict(type='AudioFiLMFusion', d_model=32),
        decoder=dict(type='LearnedQueryDecoder', num_queries=4, d_model=32, nhead=4))
    cfg['criterion']['loss_bce'] = dict(type='MaskL1Loss', loss_weight=4.0)
    with DefaultScope.overwrite_default_scope('catravs'):
        model = MODELS.build(cfg)
    assert isinstance(model.criterion.mask_losses['bce'], guide['MaskL1Loss'])
    batch = make_batch(batch=2, frames=3, size=64)
    log = model.train_step(batch, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    assert torch.isfinite(log['loss']) and 'loss_bce' in log

    model.eval()
    samples = model.val_step(make_batch(batch=2, frames=3, size=64))
    metric = METRICS.build(dict(type='ClipIoUMetric'))
    metric.process({}, [s.to_dict() for s in samples])
    result = metric.compute_metrics(metric.results)
    assert 0.0 <= result['clip_mIoU'] <= 1.0
    # the fusion slot refuses the guide's loss: categories are enforced for plugins too
    with pytest.raises(TypeError, match="'MaskL1Loss'.*registered as a loss"):
        build_model_part(dict(type='MaskL1Loss'), 'fusion', 'model.fusion')


def test_the_feature_map_fusion_sketch_serves_avsegformer_and_not_catr(guide, make_batch):
    from mmengine.config import Config

    from tests.conftest import tiny_catr_cfg
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'models',
                                   'avsegformer_tiny.py')).model.to_dict()
    cfg['fusion'] = dict(type='AudioAffineMapFusion', dim=cfg['d_model'])
    with DefaultScope.overwrite_default_scope('catravs'):
        model = MODELS.build(cfg)
    before = model.fusion.affine.weight.detach().clone()
    log = model.train_step(make_batch(batch=2, frames=3, size=64),
                           OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    assert torch.isfinite(log['loss'])
    assert not torch.equal(before, model.fusion.affine.weight)  # the sketch was trained
    # CATR's fusion field calls the other interface: refused when the model is built
    with pytest.raises(TypeError, match="'AudioAffineMapFusion'.*expects the interface "
                                        'BaseTokenFusion'):
        with DefaultScope.overwrite_default_scope('catravs'):
            MODELS.build(tiny_catr_cfg(fusion=dict(type='AudioAffineMapFusion', dim=32)))
