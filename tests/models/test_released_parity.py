"""catr_pvt_s4.py against the released CATR code, number for number.

The fixture (tests/fixtures/catr_released/, see its README) holds what the released
code computed on CPU for weights and inputs that recipe.py makes from a seed. Here the
same recipe fills the released state dict, the converter maps it onto the model that
configs/catr/catr_pvt_s4.py builds, and the model's outputs, loss terms and gradient
norms must equal the released ones. The backbone and VGGish are replaced by the
fixture's features (both are tested elsewhere).
"""
from __future__ import annotations

import importlib.util
import json
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from catravs.models.segmentors.catr_released_keys import convert_released_state_dict
from catravs.registry import MODELS
from catravs.structures import AVSDataSample
from tests.conftest import REPO_ROOT

FIXTURE = osp.join(REPO_ROOT, 'tests', 'fixtures', 'catr_released')
#: released loss name -> catravs loss name (the last decoder layer; _i -> d{i}.)
TERMS = {'loss_sigmoid_focal': 'loss_focal', 'loss_dice': 'loss_dice', 'bce_loss': 'loss_bce',
         'loss_is_referred': 'loss_cls'}
#: gradient norms below this are rounding noise on both sides: the first decoder layer's
#: self-attention reads zero queries (all values equal), so the gradient of its query and
#: key projections is zero in exact arithmetic (the released code gives 5e-9 there)
NOISE = 1e-7


def _recipe():
    spec = importlib.util.spec_from_file_location('catr_recipe', osp.join(FIXTURE, 'recipe.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Fixed(nn.Module):
    """Returns the given output whatever the input (stands in for backbone / VGGish)."""

    def __init__(self, output, out_channels):
        super().__init__()
        self.output, self.out_channels = output, out_channels

    def forward(self, x):
        return self.output


def _catravs_name(released: str) -> str:
    base, _, layer = released.rpartition('_')
    if layer.isdigit() and base in TERMS:
        return f'd{layer}.{TERMS[base]}'
    return TERMS[released]


@pytest.fixture(scope='module')
def released():
    return torch.load(osp.join(FIXTURE, 'outputs_seed0.pt'), weights_only=True)


def build_released_model(seed: int):
    """catr_pvt_s4.py at 224 with the recipe's released weights, converted; eval mode."""
    recipe = _recipe()
    with open(osp.join(FIXTURE, 'state_dict_shapes.json')) as f:
        shapes = json.load(f)
    converted, dropped = convert_released_state_dict(recipe.fill_state_dict(shapes, seed))
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'catr', 'catr_pvt_s4.py')).model
    cfg.backbone.init_cfg = None
    cfg.audio_encoder.init_cfg = None
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    missing, unexpected = model.load_state_dict(converted, strict=False)
    assert unexpected == []
    assert all(k.startswith('audio_encoder.') for k in missing), missing
    inputs = recipe.make_inputs(seed)
    model.backbone = _Fixed(tuple(inputs['feats']), model.backbone.out_channels)
    model.audio_encoder = _Fixed(inputs['audio'], 128)
    return model.eval(), inputs, converted, dropped


def _batch(inputs):
    t = inputs['audio'].shape[0]
    gt = torch.full((t, *inputs['mask'].shape), 255, dtype=torch.long)
    gt[0] = inputs['mask'].long()  # train.py supervises frame 1 (index 0) only
    sample = AVSDataSample(metainfo=dict(annotated_frames=[True] + [False] * (t - 1),
                                         img_shape=tuple(inputs['mask'].shape)))
    sample.gt_masks = gt
    size = inputs['mask'].shape[-1]
    return dict(frames=torch.zeros(1, t, 3, size, size), audio=torch.zeros(1, t, 128)), [sample]


def test_recipe_inputs_match_the_fixture(released):
    inputs = _recipe().make_inputs(0)
    sums = released['input_checksums']
    got = dict(audio=inputs['audio'].sum(), mask=inputs['mask'].sum(),
               **{f'feats[{i}]': f.sum() for i, f in enumerate(inputs['feats'])})
    assert set(got) == set(sums)
    for key, value in got.items():
        assert torch.allclose(value.double(), torch.as_tensor(sums[key]).double(), rtol=1e-5)


def test_outputs_losses_and_gradients_match_the_released_code(released):
    model, inputs, converted, dropped = build_released_model(seed=0)
    batch, samples = _batch(inputs)

    with torch.no_grad():
        mask_logits, class_logits = model(batch, mode='tensor')
    ref_masks = released['pred_masks'].flatten(1, 2)  # [L, T*B, Q, h, w] (B = 1)
    ref_cls = released['pred_is_referred'].flatten(1, 2)
    assert mask_logits.shape == ref_masks.shape and class_logits.shape == ref_cls.shape
    print(f'max |mask logit diff| {(mask_logits - ref_masks).abs().max():.3g}, '
          f'max |class logit diff| {(class_logits - ref_cls).abs().max():.3g}')
    torch.testing.assert_close(mask_logits, ref_masks, atol=1e-4, rtol=0)
    torch.testing.assert_close(class_logits, ref_cls, atol=1e-4, rtol=0)

    losses = model.loss(batch, samples)
    total, _ = model.parse_losses(losses)
    weights = released['weight_dict']
    worst = 0.0
    for name, value in released['loss_terms'].items():
        ours = losses[_catravs_name(name)]
        expected = torch.as_tensor(value * weights[name], dtype=ours.dtype)
        worst = max(worst, float((ours.detach() - expected).abs() / expected.abs()))
        torch.testing.assert_close(ours, expected, rtol=1e-5, atol=0, msg=name)
    assert set(losses) == {_catravs_name(n) for n in released['loss_terms']}
    torch.testing.assert_close(total, torch.as_tensor(float(released['loss'])), rtol=1e-5,
                               atol=0)
    print(f'largest relative loss-term difference {worst:.3g}')

    model.zero_grad()
    total.backward()
    params = dict(model.named_parameters())
    ref_norms = released['grad_norms']
    worst, compared = 0.0, 0
    for key, ref in ref_norms.items():
        if key in dropped:
            assert ref is None, f'{key} is dropped as dead but the released code trains it'
            continue
        if key.startswith('encoder_backbone.'):
            continue  # the backbone is replaced by the fixture's features
        name = _released_to_ours(key, converted)
        grad = params[name].grad
        if ref is None:
            assert grad is None or not grad.any(), name
            continue
        norm = grad.norm()
        if abs(ref) < NOISE:
            assert norm < NOISE, name
            continue
        worst = max(worst, float((norm - ref).abs() / abs(ref)))
        torch.testing.assert_close(norm, torch.as_tensor(float(ref)), rtol=1e-3, atol=0,
                                   msg=name)
        compared += 1
    assert compared > 200
    print(f'{compared} gradient norms, largest relative difference {worst:.3g}')


def _released_to_ours(key: str, converted: dict) -> str:
    from catravs.models.segmentors.catr_released_keys import released_key_to_catravs
    name = released_key_to_catravs(key)
    assert name in converted
    return name


def test_dead_keys_are_the_released_codes_gradient_free_parameters(released):
    """Every parameter the converter drops gets no gradient in the released code."""
    _, _, _, dropped = build_released_model(seed=0)
    norms = released['grad_norms']
    assert dropped and all(norms[k] is None for k in dropped if k in norms)
    live_none = [k for k, v in norms.items() if v is None and k not in dropped
                 and not k.startswith('encoder_backbone.')]
    assert live_none == []
