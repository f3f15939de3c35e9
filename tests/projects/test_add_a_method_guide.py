"""docs/add_a_method.md: its python blocks run, and the sketched method trains and predicts."""
from __future__ import annotations

import os.path as osp
import re

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

from catravs.registry import MODELS, interface_of

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GUIDE = osp.join(REPO_ROOT, 'docs', 'add_a_method.md')


@pytest.fixture
def guide(registry_guard):
    with open(GUIDE, encoding='utf-8') as f:
        blocks = re.findall(r'```python\n(.*?)```', f.read(), flags=re.S)
    assert len(blocks) == 3  # an interface, a segmentor, a key table
    namespace = {'__name__': 'catravs_test_plugin_add_a_method'}
    for block in blocks:
        exec(compile(block, GUIDE, 'exec'), namespace)  # noqa: S102 - our own documentation
    return namespace


def method_cfg(**fusion) -> dict:
    return dict(type='StrideFourSegmentor', d_model=32,
                data_preprocessor=dict(type='AVSDataPreprocessor'),
                backbone=dict(type='TinyConvBackbone'),
                audio_encoder=dict(type='TinyAudioEncoder', out_channels=16, channels=(4, 8, 8)),
                fusion=fusion or dict(type='CrossModalMixer', dim=32, num_heads=4),
                criterion=dict(type='IoUMixLoss'))


def test_the_sketched_method_trains_and_predicts(guide, make_batch):
    with DefaultScope.overwrite_default_scope('catravs'):
        model = MODELS.build(method_cfg())
    before = model.fusion.proj.weight.detach().clone()
    log = model.train_step(make_batch(batch=2, frames=3, size=64),
                           OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    assert set(log) == {'loss', 'loss_iou', 'loss_mix'} and torch.isfinite(log['loss'])
    assert not torch.equal(before, model.fusion.proj.weight)
    model.eval()
    samples = model.val_step(make_batch(batch=2, frames=3, size=64))
    assert samples[1].pred_masks.shape == (3, 64, 64)
    assert samples[1].seg_logits.shape == (3, 64, 64)


def test_the_sketched_method_refuses_a_token_fusion(guide):
    with pytest.raises(TypeError, match="model.fusion: 'CombinatorialDependenceFusion'.*"
                                        'expects the interface BaseFeatureMapFusion'):
        with DefaultScope.overwrite_default_scope('catravs'):
            MODELS.build(method_cfg(type='CombinatorialDependenceFusion', d_model=32))


def test_the_declared_interface_is_one(guide):
    from catravs.models.builder import forward_signature
    stage = guide['BaseStageFusion']
    sub = type('StageFusion', (stage,), {'forward': lambda self, x, a: x})
    assert interface_of(sub) is stage
    assert forward_signature(stage).startswith('forward(feature_map[N, C, h, w], audio[N, C])')
