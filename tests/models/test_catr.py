"""CATR end to end on tiny inputs: losses, gradients, predictions, ablation switches."""
import pytest
import torch

from catravs.registry import MODELS
from tests.conftest import tiny_catr_cfg


def build(**overrides):
    torch.manual_seed(0)
    return MODELS.build(tiny_catr_cfg(**overrides))


def parts_with_zero_grad(model):
    """Model parts (top-level children) none of whose trainable parameters got a gradient."""
    dead = []
    for name, child in model.named_children():
        params = [p for p in child.parameters() if p.requires_grad]
        if params and all(p.grad is None or not p.grad.abs().sum() for p in params):
            dead.append(name)
    return dead


RELEASED = dict(
    loss_resolution='label', neck=dict(out_levels=(1, 2, 3)),
    fusion=dict(type='ReleasedCATRFusion', d_model=32, nhead=4, num_layers=3,
                dim_feedforward=64, temporal_feedforward=64),
    head=dict(pixel_decoder=dict(type='ReleasedFPNDecoder'), kernel_layers=2))


@pytest.mark.parametrize('overrides', [
    {}, dict(fusion=dict(use_spatial=False)), dict(fusion=dict(use_temporal=False)),
    dict(fusion=dict(use_gate=False)), RELEASED])
def test_loss_is_finite_and_every_part_learns(make_batch, overrides):
    cfg = tiny_catr_cfg()
    for key, value in overrides.items():  # a dict with a type replaces the part's config
        if isinstance(value, dict) and 'type' not in value:
            cfg[key].update(value)
        else:
            cfg[key] = value
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    data = model.data_preprocessor(make_batch(annotated_first_only=True), True)
    losses = model(**data, mode='loss')
    assert {'loss_cls', 'loss_focal', 'loss_dice', 'loss_bce', 'd0.loss_dice'} <= set(losses)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert parts_with_zero_grad(model) == []


def test_unannotated_frames_do_not_count(make_batch):
    model = build()
    model.eval()  # no dropout: identical forward passes
    batch = make_batch(annotated_first_only=True)
    data = model.data_preprocessor(batch, True)
    ref = {k: v.item() for k, v in model(**data, mode='loss').items()}
    for sample in data['data_samples']:  # change labels only where frames are unannotated
        sample.gt_masks[1:] = 255
        sample.gt_masks[1:, :5, :5] = 255
    again = {k: v.item() for k, v in model(**data, mode='loss').items()}
    assert again == pytest.approx(ref)
    for sample in data['data_samples']:  # ... but a change on the annotated frame matters
        sample.gt_masks[0] = 0
        sample.gt_masks[0, 30:50, 30:50] = 1
    changed = {k: v.item() for k, v in model(**data, mode='loss').items()}
    assert changed['loss_dice'] != pytest.approx(ref['loss_dice'])


def test_binary_prediction_shapes_and_threshold(make_batch):
    model = build()
    model.eval()
    data = model.data_preprocessor(make_batch(size=64), False)
    out = model(**data, mode='predict')
    assert out[0].seg_logits.shape == (5, 64, 64)
    assert out[0].pred_masks.dtype == torch.long
    torch.testing.assert_close(out[0].pred_masks, (out[0].seg_logits.sigmoid() > 0.5).long())


def test_predictions_follow_the_label_size(make_batch):
    model = build()
    model.eval()
    batch = make_batch(size=64)
    for sample in batch['data_samples']:  # labels kept at 32x32 while frames are 64x64
        sample.gt_masks = sample.gt_masks[:, ::2, ::2].contiguous()
    data = model.data_preprocessor(batch, False)
    out = model(**data, mode='predict')
    assert out[1].pred_masks.shape == (5, 32, 32)


def test_semantic_task(make_batch):
    num_classes = 4
    model = build(task='semantic', num_classes=num_classes)
    data = model.data_preprocessor(make_batch(task='semantic', num_classes=num_classes), True)
    losses = model(**data, mode='loss')
    sum(losses.values()).backward()
    model.eval()
    out = model(**data, mode='predict')
    assert out[0].seg_logits.shape == (5, num_classes, 64, 64)
    assert int(out[0].pred_masks.max()) < num_classes


def test_audio_queries_and_released_head(make_batch):
    cfg = tiny_catr_cfg()
    cfg['decoder']['query_init'] = 'audio'
    cfg['head'].update(pixel_decoder=dict(type='ReleasedFPNDecoder'), kernel_layers=2)
    cfg['criterion']['loss_bce']['released_double_sigmoid'] = True
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    assert len(model.head.kernel_mlp.layers) == 2
    data = model.data_preprocessor(make_batch(), True)
    mask_logits, class_logits = model(**data, mode='tensor')
    assert mask_logits.shape[-1] == 64 // 16
    assert torch.isfinite(sum(model(**data, mode='loss').values()))


def test_audio_changes_the_prediction(make_batch):
    """The audio path is wired: other audio gives other mask logits."""
    model = build()
    model.eval()
    data = model.data_preprocessor(make_batch(), False)
    ref, _ = model(**data, mode='tensor')
    data['inputs']['audio'] = torch.randn_like(data['inputs']['audio'])
    other, _ = model(**data, mode='tensor')
    assert not torch.allclose(ref, other)


def test_bad_inputs_are_named(make_batch):
    model = build()
    data = model.data_preprocessor(make_batch(), False)
    with pytest.raises(ValueError, match='inputs.audio must start with'):
        model(dict(frames=data['inputs']['frames'], audio=data['inputs']['audio'][:, :3]))
    with pytest.raises(ValueError, match=r"mode must be 'loss', 'predict' or 'tensor'"):
        model(**data, mode='predcit')
    with pytest.raises(ValueError, match='num_classes=1'):
        build(num_classes=3)
