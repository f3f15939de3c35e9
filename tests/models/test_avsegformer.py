"""AVSegFormer end to end on tiny inputs (the base config's parts, a tiny backbone, VGGish):
losses, gradients, predictions in CATR's data-sample format, one frame, padded frames."""
from __future__ import annotations

import os.path as osp

import pytest
import torch
from mmengine.config import Config

from catravs.evaluation.metrics import AVSBinaryMetric
from catravs.registry import MODELS
from tests.conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'avsegformer_pvt.py')


def build(**overrides):
    cfg = Config.fromfile(CONFIG).model
    cfg.backbone = dict(type='TinyConvBackbone', out_channels=[16, 32, 64, 128])
    cfg.audio_encoder.init_cfg = None
    cfg.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def binary_model():
    return build()


def test_loss_gradients_reach_every_trained_part(binary_model, make_batch):
    model = binary_model.train()
    model.zero_grad()
    data = model.data_preprocessor(make_batch(batch=2, frames=2, annotated_first_only=True),
                                  True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_iou', 'loss_mix'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    for name in ('backbone', 'audio_proj', 'neck', 'decoder', 'fusion', 'head'):
        grads = [p.grad for p in getattr(model, name).parameters() if p.requires_grad]
        assert grads and any(g is not None and g.abs().sum() > 0 for g in grads), name
    assert all(p.grad is None for p in model.audio_encoder.parameters())  # frozen VGGish


def test_binary_predictions_feed_the_binary_metric(binary_model, make_batch):
    model = binary_model.eval()
    data = model.data_preprocessor(make_batch(batch=1, frames=1), False)  # B*T = 1
    out = model(**data, mode='predict')
    assert out[0].seg_logits.shape == (1, 64, 64) and out[0].pred_masks.dtype == torch.long
    torch.testing.assert_close(out[0].pred_masks, (out[0].seg_logits.sigmoid() > 0.5).long())
    metric = AVSBinaryMetric()
    metric.process({}, [s.to_dict() for s in out])
    assert set(metric.compute_metrics(metric.results)) >= {'mIoU'}


def test_semantic_task_and_padded_frames(make_batch):
    model = build(task='semantic', num_classes=4).eval()
    batch = make_batch(batch=1, frames=3, task='semantic', num_classes=4)
    sample = batch['data_samples'][0]
    sample.set_metainfo(dict(valid_frames=[True, True, False],
                             annotated_frames=[True, True, False]))
    data = model.data_preprocessor(batch, False)
    out = model(**data, mode='predict')
    assert out[0].seg_logits.shape == (3, 4, 64, 64)
    assert not out[0].seg_logits[2].any()  # the padded frame: zero logits, as released
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_iou', 'loss_mix'}
    with pytest.raises(ValueError, match='binary takes num_classes=1'):
        build(num_classes=4)
