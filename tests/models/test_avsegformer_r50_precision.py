"""AVSegFormer as the ResNet-50 configs run it (``model.channels_last=True``) and under CPU
bfloat16 autocast, each against the float32, contiguous model on the same weights.

Tolerances (measured on the CPU, shared 2-core machine, torch 2.11):
- channels_last: the same float32 arithmetic in another order; max |difference| 1.4e-5
  at logits of magnitude 3.6, relative L2 error 1.9e-6. Bound: relative L2 1e-4.
- bfloat16: 8 bits of mantissa (relative rounding 2^-8 = 0.4 % per operation) through
  the 6 + 6 transformer layers; relative L2 error of the logits 0.9 %, 1.2 %, 1.7 % for
  three seeds of the random model. Bound: 5 % (3x the largest measured), the bound
  ``tests/engine/test_amp.py`` puts on the loss.
"""
from __future__ import annotations

import os.path as osp

import pytest
import torch
from mmengine.config import Config

from catravs.models.utils import ATTENTION_IMPLS, set_attention_impl
from catravs.registry import MODELS
from tests.conftest import REPO_ROOT

CONFIGS = osp.join(REPO_ROOT, 'configs')
BF16_RTOL = 5e-2
CHANNELS_LAST_RTOL = 1e-4


def relative_l2(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got.float() - want).norm() / want.norm()).item()


def clip_inputs(seed: int, size: int = 64) -> dict:
    g = torch.Generator().manual_seed(seed)
    return dict(frames=torch.randn(1, 2, 3, size, size, generator=g),
                audio=torch.randn(1, 2, 1, 96, 64, generator=g))


@pytest.mark.parametrize('seed', [0, 1])
def test_bfloat16_autocast_is_close_to_float32(seed):
    """The base config's neck, decoder, fusion, head and VGGish (a tiny backbone for
    PVT-v2-b5), semantic with AVSS's 71 classes, the configs' attention implementation."""
    cfg = Config.fromfile(osp.join(CONFIGS, '_base_', 'models', 'avsegformer_pvt.py')).model
    cfg.update(task='semantic', num_classes=71)
    cfg.backbone = dict(type='TinyConvBackbone', out_channels=[16, 32, 64, 128])
    cfg.audio_encoder.init_cfg = None
    torch.manual_seed(seed)
    model = MODELS.build(cfg).eval()
    set_attention_impl(model, ATTENTION_IMPLS[0])
    inputs = clip_inputs(100 + seed)
    seen = set()
    for m in model.decoder.modules():  # the decoder's linear layers compute in bfloat16
        if isinstance(m, torch.nn.Linear):
            m.register_forward_hook(lambda m, i, out: seen.add(out.dtype))
    with torch.no_grad():
        want, want_feature = model(inputs, mode='tensor')
        seen.clear()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            got, got_feature = model(inputs, mode='tensor')
    assert torch.bfloat16 in seen  # autocast acted
    assert torch.isfinite(got.float()).all()
    assert relative_l2(got, want) <= BF16_RTOL, relative_l2(got, want)
    assert relative_l2(got_feature, want_feature) <= BF16_RTOL


@pytest.fixture(scope='module')
def r50_models():
    """The ResNet-50 S4 config's model (``channels_last=True``), initial weights, and the
    same model built contiguous with those weights."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'avsegformer', 'avsegformer_r50_s4.py')).model
    assert cfg.channels_last is True
    cfg.backbone.init_cfg = None
    cfg.audio_encoder.init_cfg = None
    torch.manual_seed(0)
    nhwc = MODELS.build(cfg).eval()
    plain = MODELS.build(dict(cfg, channels_last=False)).eval()
    plain.load_state_dict(nhwc.state_dict())
    return nhwc, plain


@pytest.mark.slow
def test_r50_config_runs_its_convolutions_channels_last(r50_models):
    nhwc, plain = r50_models
    convs = [m for m in nhwc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(m.weight.is_contiguous(memory_format=torch.channels_last)
                         for m in convs)
    assert not all(m.weight.is_contiguous(memory_format=torch.channels_last)
                   for m in plain.modules() if isinstance(m, torch.nn.Conv2d))
    # the backbone's activations are NHWC too (a 4-D output of more than one channel and
    # pixel is channels_last only if the convolution ran so)
    layouts = []
    for m in nhwc.backbone.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(lambda m, i, out: layouts.append(
                out.is_contiguous(memory_format=torch.channels_last)
                and not out.is_contiguous()))
    inputs = clip_inputs(1)
    with torch.no_grad():
        got, got_feature = nhwc(inputs, mode='tensor')
        want, want_feature = plain(inputs, mode='tensor')
    assert layouts and all(layouts), layouts.count(False)
    assert relative_l2(got, want) <= CHANNELS_LAST_RTOL
    assert relative_l2(got_feature, want_feature) <= CHANNELS_LAST_RTOL
