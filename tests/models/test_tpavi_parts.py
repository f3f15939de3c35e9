"""TPAVI's parts: the fusion block's two implementations, the RefineNet head, the losses."""
from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F

from catravs.models.fusions import TPAVIBlock
from catravs.models.heads import RefineNetHead
from catravs.models.losses import AudioVisualMatchingLoss, FrameCrossEntropyLoss, TPAVICriterion


def _blocks(seed: int = 0, **kwargs) -> tuple[TPAVIBlock, TPAVIBlock]:
    """A reference and a fast block with the same random weights (BatchNorm not at its zero
    initialisation, so that the attention reaches the output)."""
    torch.manual_seed(seed)
    ref = TPAVIBlock(impl='reference', **kwargs)
    for name, p in ref.named_parameters():
        with torch.no_grad():
            if p.dim() > 1:
                p.copy_(torch.randn_like(p) / p[0].numel() ** 0.5)
            else:
                p.copy_(torch.randn_like(p) * 0.1 + (1.0 if name.endswith('weight') else 0.0))
    fast = TPAVIBlock(impl='fast', **kwargs)
    fast.load_state_dict(ref.state_dict())
    return ref, fast


def _compare(ref, fast, frames, size, train: bool):
    """Max abs differences of output, audio key and every gradient (fast vs reference)."""
    torch.manual_seed(1)
    x = torch.randn(frames, ref.channels, size, size)
    audio = torch.rand(frames, 128) * 2
    grad_out = torch.randn(frames, ref.channels, size, size)
    results = []
    for block in (ref, fast):
        block.train(train)
        block.zero_grad()
        xi = x.clone().requires_grad_()
        z, a = block(xi, audio)
        (z * grad_out).sum().backward(retain_graph=True)
        a.sum().backward()
        grads = {n: p.grad.clone() for n, p in block.named_parameters()}
        results.append((z.detach(), a.detach(), xi.grad, grads,
                        block.out_bn.running_mean.clone()))
    (z1, a1, gx1, g1, rm1), (z2, a2, gx2, g2, rm2) = results
    diffs = {'out': (z1 - z2).abs().max() / z1.abs().max(),
             'audio': (a1 - a2).abs().max(), 'grad_x': (gx1 - gx2).abs().max() / gx1.abs().max(),
             'running_mean': (rm1 - rm2).abs().max()}
    # a parameter gradient relative to its own largest entry; in train mode two gradients
    # are 0 in real arithmetic, because the BatchNorm's batch mean removes what they change:
    # the bias of the conv before it, and with one group of frames theta's bias (it shifts
    # every position's output by the same vector). Their values are rounding only (how much
    # depends on the thread count): relative to the block's largest gradient entry
    largest = max(float(g.abs().max()) for g in g1.values())
    exact_zero = {'out_conv.bias'} | ({'theta.bias'} if frames == 5 else set())
    for n in g1:
        zero = train and n in exact_zero or float(g1[n].abs().max()) <= 1e-6 * largest
        scale = largest if zero else g1[n].abs().max()
        diffs[f'grad_{n}'] = (g1[n] - g2[n]).abs().max() / scale
    return {k: float(v) for k, v in diffs.items()}


@pytest.mark.parametrize('train', [False, True])
def test_fast_block_equals_reference_small(train):
    """Two groups of 5 frames at 14 x 14: outputs and gradients, relative to their largest
    entry, within 5e-5 (float32). Measured: at most 1.6e-5, on the gradient of g's bias,
    where the reference is the less accurate one (1.6e-5 from a float64 evaluation, the
    fast form 4e-7: it multiplies the bias by h * w instead of summing h * w copies)."""
    ref, fast = _blocks()
    diffs = _compare(ref, fast, frames=10, size=14, train=train)
    assert max(diffs.values()) < 5e-5, diffs


@pytest.mark.slow
@pytest.mark.parametrize('train', [False, True])
def test_fast_block_equals_reference_at_stage0(train):
    """The released stage-0 size, one group of 5 frames of 256 x 56 x 56 (the reference
    materialises the 15,680 x 15,680 matrix: about 4 GB with its gradient). Outputs within
    5e-5 and gradients within 1e-3 (the parity tests' gradient tolerance), each relative to
    its largest entry. Measured: outputs 3.6e-7 in eval mode, up to 1.2e-5 in train mode
    with one torch thread (the BatchNorm normalises the attention output by its batch
    statistics, so the two summation orders' rounding is scaled up); gradients at most
    1.6e-4, on g's bias, where the reference sums 15,680 x 15,680 terms and the fast form
    multiplies by h * w (see the small-size test for which is closer to float64)."""
    ref, fast = _blocks()
    start = time.perf_counter()
    diffs = _compare(ref, fast, frames=5, size=56, train=train)
    print(f'stage 0, train={train}: {max(diffs.values()):.3g} '
          f'({max(diffs, key=diffs.get)}); {time.perf_counter() - start:.1f} s')
    assert max(v for k, v in diffs.items() if not k.startswith('grad_')) < 5e-5, diffs
    assert max(diffs.values()) < 1e-3, diffs


def test_reference_block_is_the_released_formula():
    """The reference block against the released formula written out with its Conv3d layout:
    x [1, C, 5, h, w], audio repeated over h x w, f = theta^T phi / N, y = f g."""
    ref, _ = _blocks()
    ref.eval()
    x = torch.randn(5, 256, 6, 6, dtype=torch.float64)
    audio = torch.rand(5, 128, dtype=torch.float64)
    ref = ref.double()
    z, a = ref(x, audio)
    x5 = x.permute(1, 0, 2, 3)[None]  # [1, C, T, h, w]
    a_rep = a.T[None, :, :, None, None].expand(-1, -1, -1, 6, 6)
    conv = lambda m, t: F.conv3d(t, m.weight.reshape(*m.weight.shape[:2], 1, 1, 1), m.bias)  # noqa: E731
    phi_w = ref.phi.weight[:, :, None, None, None]
    theta = conv(ref.theta, x5).flatten(2).transpose(1, 2)
    phi = F.conv3d(a_rep, phi_w, ref.phi.bias).flatten(2)
    g = conv(ref.g, x5).flatten(2).transpose(1, 2)
    f = theta @ phi
    y = (f / f.shape[-1]) @ g  # [1, THW, C_i]
    y = y.transpose(1, 2).reshape(1, 128, 5, 6, 6)
    wz = ref.out_bn(conv(ref.out_conv, y)[0].transpose(0, 1)).transpose(0, 1)[None] + x5
    want = F.layer_norm(wz.permute(0, 2, 3, 4, 1), (256,), ref.norm.weight, ref.norm.bias)
    torch.testing.assert_close(z, want[0].permute(0, 3, 1, 2), rtol=1e-10, atol=1e-10)


def test_new_block_is_layer_norm_of_its_input():
    """BatchNorm initialised to 0: a new block returns LayerNorm_C(x)."""
    block = TPAVIBlock().eval()
    x = torch.randn(5, 256, 4, 4)
    z, _ = block(x, torch.rand(5, 128))
    want = F.layer_norm(x.permute(0, 2, 3, 1), (256,)).permute(0, 3, 1, 2)
    torch.testing.assert_close(z, want)


def test_block_groups_frames_and_refuses_a_partial_group():
    block = TPAVIBlock(frames_per_group=5).eval()
    _, fast = _blocks()
    fast.eval()
    x = torch.randn(10, 256, 3, 3)
    audio = torch.rand(10, 128)
    z, _ = fast(x, audio)
    z2, _ = fast(x[5:], audio[5:])  # the second group alone
    torch.testing.assert_close(z[5:], z2)
    with pytest.raises(ValueError, match='frames_per_group=5'):
        block(torch.randn(7, 256, 3, 3), torch.rand(7, 128))
    assert TPAVIBlock(audio_bias=False).audio_proj.bias is None


def test_refinenet_head_shapes_residual_and_frame_scale():
    torch.manual_seed(0)
    head = RefineNetHead(num_classes=3, channels=8, mid_channels=6, low_channels=4)
    assert head.steps[3].skip_unit is None  # the coarsest step has no skip input
    feats = [torch.randn(2, 8, 16 // 2 ** i, 16 // 2 ** i) for i in range(4)]
    out = head(feats)
    assert out.shape == (2, 3, 64, 64)
    # every step rectifies its inputs first: relu'd inputs give the same logits
    torch.testing.assert_close(head([f.relu() for f in feats]), out)
    # the residual of a unit is relu(x)
    unit = head.steps[0].out_unit
    x = torch.randn(1, 8, 5, 5)
    want = x.relu() + unit.conv2(unit.conv1(x.relu()).relu())
    torch.testing.assert_close(unit(x), want)
    with torch.no_grad():
        scaled = head(feats, torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(scaled[0], out[0].detach())
    assert float(scaled[1].abs().max()) == 0.0


def _kl_oracle(visual, audio):
    """sum_c p_a (log p_a - log p_v) per row."""
    pa, pv = audio.softmax(-1), visual.softmax(-1)
    return (pa * (pa.log() - pv.log())).sum(-1)


def test_matching_loss_sigmoid_sum_and_argmax_mean():
    torch.manual_seed(0)
    logits = torch.randn(4, 1, 16, 16)
    v_maps = [torch.rand(4, 8, 8 // 2 ** s, 8 // 2 ** s) for s in range(2)]
    keys = [torch.randn(4, 8) for _ in range(2)]
    w = torch.ones(4)
    loss = AudioVisualMatchingLoss(stages=(0, 1), mask='sigmoid', frames='sum', loss_weight=0.5)
    want = 0.0
    for s in range(2):
        h = v_maps[s].shape[-1]
        m = torch.sigmoid(F.avg_pool2d(logits, 16 // h))  # 16 -> h: a plain average pool
        want += _kl_oracle((v_maps[s] * m).mean((-2, -1)), keys[s]).sum()
    torch.testing.assert_close(loss(logits, v_maps, keys, w), 0.5 * want / 2)
    # semantic: argmax mask, weighted mean over frames
    logits = torch.randn(4, 5, 16, 16)
    w = torch.tensor([1.0, 1.0, 0.0, 1.0])
    loss = AudioVisualMatchingLoss(stages=(1,), mask='argmax', frames='mean', loss_weight=1.0)
    fg = (logits.argmax(1, keepdim=True) != 0).float()
    m = F.avg_pool2d(fg, 4)
    kl = _kl_oracle((v_maps[1] * m).mean((-2, -1)), keys[1])
    torch.testing.assert_close(loss(logits, v_maps, keys, w), (kl * w).sum() / 3)


def test_frame_cross_entropy_and_the_binary_criterion():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 8, 8)
    labels = torch.randint(0, 4, (3, 8, 8))
    labels[1] = 255  # not annotated
    w = torch.tensor([1.0, 0.0, 1.0])
    per_frame = torch.stack([F.cross_entropy(logits[i:i + 1], labels[i:i + 1]) for i in (0, 2)])
    torch.testing.assert_close(FrameCrossEntropyLoss()(logits, labels, w), per_frame.mean())
    # binary: BCE over the annotated frames, as nn.BCELoss on the sigmoid (the released form)
    crit = TPAVICriterion(seg_loss=dict(type='MaskBCELoss'), task='binary')
    logits = torch.randn(3, 1, 8, 8)
    labels = torch.randint(0, 2, (3, 8, 8))
    labels[1] = 255
    got = crit(logits, labels, w, [], [])
    want = F.binary_cross_entropy(logits[[0, 2], 0].sigmoid(), labels[[0, 2]].float())
    assert set(got) == {'loss_seg'}
    torch.testing.assert_close(got['loss_seg'], want)
