"""The TPAVI segmentor's loss decodes only the frames that the loss reads ('fast'), with
the loss and every gradient of decoding all frames ('reference', as released).

On the released code's own numbers: tests/models/test_tpavi_parity.py (the configs
default to 'fast'; S4 trains on frame 0 of each clip, padded AVSS clips on their
annotated frames)."""
from __future__ import annotations

import copy
import os.path as osp

import pytest
import torch

from catravs.analysis.benchmarking import synthetic_batch
from catravs.apis import load_config
from catravs.models.losses import AudioVisualMatchingLoss
from catravs.registry import MODELS
from tests.conftest import REPO_ROOT

TINY = osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'tpavi_tiny.py')
#: per clip of T = 10 frames: (annotated, valid); clip 1 as an AVSBench-object
#: multi-source clip padded to 10, clip 2 a single-source one (frame 0 annotated)
FLAGS = [([True] * 10, [True] * 10),
         ([True, False, True, True, False] + [False] * 5, [True] * 5 + [False] * 5),
         ([True] + [False] * 9, [True] * 5 + [False] * 5)]


def build(task: str, impl: str):
    cfg = load_config(TINY).model
    cfg.impl = impl
    if task == 'semantic':  # the AVSS criterion: cross-entropy, argmax mask, frame mean
        cfg.update(task='semantic', num_classes=5)
        cfg.criterion = dict(type='TPAVICriterion', seg_loss=dict(type='FrameCrossEntropyLoss'),
                             matching_loss=dict(type='AudioVisualMatchingLoss', mask='argmax',
                                                frames='mean', loss_weight=0.5))
    torch.manual_seed(0)
    return MODELS.build(cfg).double()


def batch(model, task: str):
    data = synthetic_batch(model, len(FLAGS), 10, 64, 64, task, 5, seed=1)
    for sample, (annotated, valid) in zip(data['data_samples'], FLAGS):
        sample.set_metainfo(dict(annotated_frames=annotated, valid_frames=valid))
        sample.gt_masks[~torch.tensor(annotated)] = 255
    data = model.data_preprocessor(data, True)
    inputs = {k: v.double() if v.is_floating_point() else v
              for k, v in data['inputs'].items()}
    return inputs, data['data_samples']


@pytest.mark.parametrize('task', ['binary', 'semantic'])
def test_fast_loss_equals_decoding_every_frame(task):
    fast = build(task, 'fast').train()
    reference = copy.deepcopy(fast)
    reference.impl = 'reference'
    decoded = []
    fast.head.register_forward_hook(lambda m, i, o: decoded.append(o.shape[0]))
    reference.head.register_forward_hook(lambda m, i, o: decoded.append(o.shape[0]))
    inputs, samples = batch(fast, task)
    losses = {}
    for name, model in (('fast', fast), ('reference', reference)):
        terms = model.loss(inputs, samples)
        assert set(terms) == {'loss_seg', 'loss_match'}
        total, _ = model.parse_losses(terms)
        total.backward()
        losses[name] = {k: float(v.detach()) for k, v in terms.items()}
    assert decoded == [sum(sum(a) for a, _ in FLAGS), 3 * 10]  # 10 + 3 + 1 of 30 frames
    # the network runs in float64 here, the losses in float32 (float32_loss): the sums
    # over a different number of zero-weighted frames differ by rounding only
    for key, value in losses['reference'].items():
        assert losses['fast'][key] == pytest.approx(value, rel=1e-6), key
    assert losses['reference']['loss_match'] > 0
    grads = dict(reference.named_parameters())
    for name, param in fast.named_parameters():
        other = grads[name].grad
        if other is None:
            assert param.grad is None, name
            continue
        # float32 loss: rounding of the largest entry's order, compared against it
        diff = float((param.grad - other).abs().max())
        assert diff <= 1e-5 * float(other.abs().max()), (name, diff)
    for name, buf in fast.named_buffers():  # BatchNorm statistics saw every frame
        torch.testing.assert_close(buf, dict(reference.named_buffers())[name], msg=name)


def test_a_frame_that_the_loss_weighs_zero_changes_nothing():
    """The premise of decoding the annotated frames only: the loss weighs every other
    frame by exactly 0, here with a matching term on made-up inputs."""
    loss = AudioVisualMatchingLoss(mask='sigmoid', frames='sum')
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 1, 8, 8, generator=gen, dtype=torch.float64)
    v_maps = [torch.rand(4, 6, 4, 4, generator=gen, dtype=torch.float64)] * 4
    audio = [torch.randn(4, 6, generator=gen, dtype=torch.float64)] * 4
    weights = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    keep = torch.tensor([0, 2])
    full = loss(logits, v_maps, audio, weights)
    part = loss(logits[keep], [v[keep] for v in v_maps], [a[keep] for a in audio], weights[keep])
    assert float(full) == pytest.approx(float(part), rel=1e-14)


def test_impl_is_checked():
    cfg = load_config(TINY).model
    cfg.impl = 'quick'
    with pytest.raises(ValueError, match="TPAVI.impl must be 'fast' or 'reference'"):
        MODELS.build(cfg)
