"""The AVSegFormer base configs against the released AVSegFormer code, number for number.

The fixture (tests/fixtures/avsegformer_released/, see its README) holds what the released
code computed on CPU for weights and inputs that recipe.py makes from a seed: S4 with
PVT-v2-b5 and with ResNet-50, AVSS with PVT-v2-b5 (a full clip, and a padded AVSBench-object
clip: the 'v1m' flags). Here the same recipe fills the released state dict, the converter's
mapping puts it into the model that configs/_base_/models/avsegformer_{pvt,r50}.py build,
and the model's outputs, loss terms and gradient norms must equal the released ones. The
backbone and VGGish are stubbed as in the fixture (the backbone by the recipe's features,
VGGish by the identity on the recipe's embeddings).
"""
from __future__ import annotations

import importlib.util
import json
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from catravs.models.segmentors.avsegformer_released_keys import (
    convert_released_state_dict,
    released_key_to_catravs,
)
from catravs.registry import MODELS
from catravs.structures import AVSDataSample
from tests.conftest import REPO_ROOT, record_method_outputs

#: full-size passes of the released models: one worker runs them one after another (the
#: cores' vector units are shared, so two at once take longer than one after the other)
pytestmark = pytest.mark.xdist_group('full_size_parity')

FIXTURE = osp.join(REPO_ROOT, 'tests', 'fixtures', 'avsegformer_released')
#: fixture config -> (base config, model overrides)
CASES = {
    's4_pvt': ('avsegformer_pvt', {}),
    's4_r50': ('avsegformer_r50', {}),
    'avss_pvt': ('avsegformer_pvt', dict(task='semantic', num_classes=71)),
}
#: released loss name -> catravs loss name
TERMS = {'iou_loss': 'loss_iou', 'mix_loss': 'loss_mix'}


def load_recipe():
    spec = importlib.util.spec_from_file_location('avsegformer_recipe',
                                                  osp.join(FIXTURE, 'recipe.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Fixed(nn.Module):
    """Returns the given output whatever the input (stands in for the backbone)."""

    def __init__(self, output, out_channels):
        super().__init__()
        self.output, self.out_channels = output, out_channels

    def forward(self, x):
        return self.output


def head_shapes(config: str) -> dict[str, list[int]]:
    """The released state dict's keys and shapes outside backbone and VGGish."""
    with open(osp.join(FIXTURE, f'state_dict_shapes_{config}.json')) as f:
        shapes = json.load(f)
    return {k: v for k, v in shapes.items() if not k.startswith(('backbone.', 'vggish.'))}


def build_model(config: str, seed: int, flags: str = 'v2'):
    """The base config's model with the recipe's released weights (head and audio_proj,
    converted) and stubbed backbone / VGGish; eval mode. -> (model, inputs, dropped)."""
    recipe = load_recipe()
    base, overrides = CASES[config]
    converted, dropped = convert_released_state_dict(
        recipe.fill_state_dict(head_shapes(config), seed))
    inputs = recipe.make_inputs(config, seed, flags=flags)
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'models', f'{base}.py')).model
    cfg.update(overrides)
    channels = [f.shape[1] for f in inputs['feats']]
    # cheap stand-ins, replaced below: the fixture stubs backbone and VGGish
    cfg.backbone = dict(type='TinyConvBackbone', out_channels=channels)
    cfg.audio_encoder = dict(type='PrecomputedAudioEmbedding', in_channels=128)
    model = MODELS.build(cfg)
    missing, unexpected = model.load_state_dict(converted, strict=False)
    assert unexpected == []
    assert all(k.startswith('backbone.') for k in missing), missing
    model.backbone = _Fixed(list(inputs['feats']), tuple(channels))
    return model.eval(), inputs, dropped


def make_batch(config: str, inputs: dict):
    """``(inputs, [AVSDataSample])`` of the fixture's clip, labelled the catravs way."""
    t = inputs['audio'].shape[0]
    if config.startswith('s4'):
        size = inputs['mask'].shape[-1]
        gt = torch.full((t, size, size), 255, dtype=torch.long)
        gt[0] = inputs['mask'].long()  # train.py supervises frame 0 only
        meta = dict(annotated_frames=[True] + [False] * (t - 1), valid_frames=[True] * t)
    else:
        flag = inputs['gt_temporal_mask_flag'].bool()
        gt = inputs['label'].clone()
        gt[~flag] = 255  # catravs marks unannotated frames 255; the released loss weights them 0
        meta = dict(annotated_frames=flag.tolist(),
                    valid_frames=inputs['vid_temporal_mask_flag'].bool().tolist())
        size = gt.shape[-1]
    sample = AVSDataSample(metainfo=dict(img_shape=(size, size), **meta))
    sample.gt_masks = gt
    batch = dict(frames=torch.zeros(1, t, 3, size, size), audio=inputs['audio'][None])
    return batch, [sample]


def grid(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return x[..., idx, :][..., idx]


def check_losses_and_gradients(model, batch, samples, ref: dict, dropped: dict) -> dict:
    """Loss terms (1e-5 relative) and gradient norms (1e-3 relative) against ``ref``;
    returns the largest differences."""
    model.zero_grad()
    losses = model.loss(batch, samples)
    assert set(losses) == {TERMS[k] for k in ref['loss_dict']}
    worst_loss = 0.0
    for name, value in ref['loss_dict'].items():  # already times its weight
        ours = losses[TERMS[name]].detach().double()
        worst_loss = max(worst_loss, float((ours - value).abs() / abs(value)))
        torch.testing.assert_close(ours, torch.tensor(float(value), dtype=torch.float64),
                                   rtol=1e-5, atol=0, msg=name)
    total, _ = model.parse_losses(losses)
    torch.testing.assert_close(total.double(), torch.tensor(float(ref['loss']),
                                                            dtype=torch.float64),
                               rtol=1e-5, atol=0)
    total.backward()
    params = dict(model.named_parameters())
    worst_grad, compared = 0.0, 0
    for key, norm in ref['grad_norms'].items():
        if key in dropped:
            assert norm is None, f'{key} is dropped as dead but the released code trains it'
            continue
        grad = params[released_key_to_catravs(key)].grad
        assert norm is not None, f'{key}: live in catravs, no gradient in the released code'
        assert grad is not None, key
        ours = grad.norm().double()
        worst_grad = max(worst_grad, float((ours - norm).abs() / norm))
        torch.testing.assert_close(ours, torch.tensor(norm, dtype=torch.float64), rtol=1e-3,
                                   atol=0, msg=key)
        compared += 1
    assert compared == len(ref['grad_norms']) - len(dropped)
    return dict(loss=worst_loss, grad=worst_grad, compared=compared)


@pytest.mark.parametrize('config', sorted(CASES))
def test_recipe_inputs_match_the_fixture(config):
    ref = torch.load(osp.join(FIXTURE, f'outputs_{config}_seed0.pt'), weights_only=True)
    recipe = load_recipe()
    inputs = recipe.make_inputs(config, 0)
    for key, value in ref['input_checksums'].items():
        if key.startswith('feats['):
            got = inputs['feats'][int(key[6])].sum()
        elif key.endswith('_v1m'):
            got = recipe.make_inputs(config, 0, flags='v1m')[key[:-4]].sum()
        else:
            got = inputs[key].sum()
        torch.testing.assert_close(got.double(), torch.as_tensor(value).double(), rtol=1e-5,
                                   atol=1e-3, msg=key)


#: measured on 2 cores: s4_pvt 46 s of CPU time and 3.8 GB (the 300 -> 2048 -> 2048 1x1
#: convs on 5 frames of 56 x 56, forward and backward); s4_r50 and avss_pvt take longer
@pytest.mark.slow
@pytest.mark.parametrize('config', sorted(CASES))
def test_outputs_losses_and_gradients_match_the_released_code(config):
    """One eval-mode loss pass: its losses and gradients, and its logits and mask feature
    (recorded from ``_forward``, which ``mode='tensor'`` runs too; the loss's all-1
    ``valid_frames`` multiply by 1) against the released ones."""
    ref = torch.load(osp.join(FIXTURE, f'outputs_{config}_seed0.pt'), weights_only=True)
    model, inputs, dropped = build_model(config, seed=0)
    batch, samples = make_batch(config, inputs)
    record, _ = record_method_outputs(model, '_forward')  # (logits, mask_feature)
    worst = check_losses_and_gradients(model, batch, samples, ref, dropped)
    logits, mask_feature = record['outputs']
    assert list(logits.shape) == list(ref['pred_mask_shape'])
    assert list(mask_feature.shape) == list(ref['mask_feature_shape'])
    torch.testing.assert_close(grid(logits, ref['pred_mask_sample_index']),
                               ref['pred_mask_sample'], atol=1e-4, rtol=0)
    torch.testing.assert_close(grid(mask_feature, ref['mask_feature_sample_index']),
                               ref['mask_feature_sample'], atol=1e-4, rtol=0)
    torch.testing.assert_close(mask_feature.mean(1, keepdim=True),
                               ref['mask_feature_channel_mean'], atol=1e-4, rtol=0)
    torch.testing.assert_close(logits.double().mean((-2, -1)), ref['pred_mask_mean'],
                               atol=1e-4, rtol=0)
    torch.testing.assert_close(logits.double().pow(2).mean((-2, -1)).sqrt(),
                               ref['pred_mask_rms'], atol=1e-4, rtol=0)
    diff = (grid(logits, ref['pred_mask_sample_index']) - ref['pred_mask_sample']).abs().max()
    print(f'{config}: max |logit diff| on the grid {diff:.3g}'
          f', loss rel {worst["loss"]:.3g}, {worst["compared"]} grad norms rel {worst["grad"]:.3g}')


@pytest.mark.slow
def test_padded_avss_clip_matches_the_released_code():
    """AVSBench-object clip in AVSS: frames 5-9 padded (v1m flags): zero outputs there,
    and the loss and gradients of the released code."""
    ref = torch.load(osp.join(FIXTURE, 'outputs_avss_pvt_seed0.pt'), weights_only=True)['v1m']
    model, inputs, dropped = build_model('avss_pvt', seed=0, flags='v1m')
    batch, samples = make_batch('avss_pvt', inputs)
    record, _ = record_method_outputs(model, '_forward')  # (logits, mask_feature)
    worst = check_losses_and_gradients(model, batch, samples, ref, dropped)
    logits, mask_feature = record['outputs']
    assert logits.shape[0] == 10
    assert not logits[5:].any() and not mask_feature[5:].any()
    print(f'v1m: loss rel {worst["loss"]:.3g}, grad norms rel {worst["grad"]:.3g}')


def test_dead_keys_are_the_released_codes_gradient_free_parameters():
    """The converter drops exactly the parameters that get no gradient in the released
    code (outside the stubbed backbone); for ResNet-50 also the never-run second branch."""
    for config in CASES:
        ref = torch.load(osp.join(FIXTURE, f'outputs_{config}_seed0.pt'), weights_only=True)
        _, dropped = convert_released_state_dict(
            {k: torch.empty(0) for k in head_shapes(config)})
        no_grad = {k for k, v in ref['grad_norms'].items() if v is None}
        assert set(dropped) == no_grad, config
    with open(osp.join(FIXTURE, 'state_dict_shapes_s4_r50.json')) as f:
        keys = json.load(f)
    _, dropped = convert_released_state_dict({k: torch.empty(0) for k in keys})
    branch2 = {k for k in keys if k.startswith(('backbone.layer3_2.', 'backbone.layer4_2.'))}
    assert len(branch2) == 174 and branch2 <= set(dropped)
