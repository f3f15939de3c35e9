"""The released-CATR switches, each shown by the difference it makes, against hand
computations of the released formulas (``/tmp/catr_ref``-style code re-typed with
explicit ops, not the modules' own code paths)."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from catravs.models.fusions.released_block_gate import ReleasedBlockGate
from catravs.models.fusions.released_temporal_layer import ReleasedTemporalLayer
from catravs.models.heads.released_fpn_decoder import ReleasedFPNDecoder
from catravs.models.necks.aspp_sum_neck import ASPPSumNeck
from catravs.registry import MODELS
from catravs.structures import AVSDataSample
from tests.conftest import tiny_catr_cfg


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _randomise(module, seed):
    """Random values in every parameter and BatchNorm buffer (nothing left at 0 or 1)."""
    gen = _gen(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.3)
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    return module


# ---------------------------------------------------------------- loss_resolution
def _dice_by_formula(logits, gt):
    p = logits.double().sigmoid().flatten()
    g = gt.double().flatten()
    return 1 - (2 * (p * g).sum() + 1) / (p.sum() + g.sum() + 1)


def _loss_with_fixed_logits(loss_resolution, gt, mask_logits):
    """CATR.loss with ``_forward`` replaced by fixed outputs: one clip of one frame, one query."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_catr_cfg(loss_resolution=loss_resolution))
    class_logits = torch.tensor([[[[2.0, -1.0]]]])  # [L=1, N=1, Q=1, K+1=2]
    model._forward = lambda inputs: (mask_logits, class_logits)
    size = gt.shape[-1]
    sample = AVSDataSample(metainfo=dict(annotated_frames=[True], valid_frames=[True],
                                         img_shape=(size, size), ori_shape=(size, size)))
    sample.gt_masks = gt[None]
    inputs = dict(frames=torch.zeros(1, 1, 3, size, size), audio=torch.zeros(1, 1, 1, 96, 64))
    return model.loss(inputs, [sample])


def test_loss_resolution_label_sees_a_one_pixel_wide_object():
    """A 1-pixel-wide column at x = 1 of a 64 x 64 label; logits at 16 x 16 (stride 4).
    Nearest downsampling keeps columns 0, 4, 8, ...: at 'prediction' the object is gone
    (no target, zero mask losses); at 'label' the logits are upsampled (bilinear) and the
    dice loss is the one of the full-size label."""
    gt = torch.zeros(64, 64, dtype=torch.long)
    gt[:, 1] = 1
    logits = torch.randn(1, 1, 1, 16, 16, generator=_gen(0))  # [L, N, Q, h, w]
    logits[..., :, 0] += 3.0

    at_pred = _loss_with_fixed_logits('prediction', gt, logits)
    for term in ('loss_dice', 'loss_focal', 'loss_bce'):
        assert at_pred[term].item() == 0.0, term

    at_label = _loss_with_fixed_logits('label', gt, logits)
    up = F.interpolate(logits[0], size=(64, 64), mode='bilinear', align_corners=False)[0, 0]
    expected = 5.0 * _dice_by_formula(up, gt)  # loss_weight 5, num_masks 1
    assert at_label['loss_dice'].item() == pytest.approx(expected.item(), rel=1e-5)
    assert at_label['loss_dice'].item() > 0.5
    # the class target differs too: an object at 'label', none at 'prediction'
    assert at_label['loss_cls'].item() != pytest.approx(at_pred['loss_cls'].item())


def test_loss_resolution_prediction_uses_the_nearest_downsampled_label():
    gt = torch.zeros(64, 64, dtype=torch.long)
    gt[8:40, 4:8] = 1  # 4-pixel column block: survives nearest downsampling as column 1
    logits = torch.randn(1, 1, 1, 16, 16, generator=_gen(1))
    small = torch.zeros(16, 16)
    small[2:10, 1] = 1
    at_pred = _loss_with_fixed_logits('prediction', gt, logits)
    expected = 5.0 * _dice_by_formula(logits[0, 0, 0], small)
    assert at_pred['loss_dice'].item() == pytest.approx(expected.item(), rel=1e-5)
    at_label = _loss_with_fixed_logits('label', gt, logits)
    up = F.interpolate(logits[0], size=(64, 64), mode='bilinear', align_corners=False)[0, 0]
    assert at_label['loss_dice'].item() == pytest.approx(
        5.0 * _dice_by_formula(up, gt).item(), rel=1e-5)
    assert at_label['loss_dice'].item() != pytest.approx(at_pred['loss_dice'].item(), rel=1e-3)


# ------------------------------------------------------------- ReleasedFPNDecoder
C_FPN, MASK_DIM = 64, 8  # C/8 = 8 channels: GroupNorm(8) everywhere, as released


def _fpn_inputs(seed, n=2, h8=8):
    gen = _gen(seed)
    fused = torch.randn(n, C_FPN, h8, h8, generator=gen, dtype=torch.float64)
    feats = [torch.randn(n, C_FPN, s, s, generator=gen, dtype=torch.float64)
             for s in (2 * h8, h8, h8 // 2, h8 // 4)]  # strides 4, 8, 16, 32
    return fused, feats


def _fpn_by_hand(dec, fused, feats):
    """The released ``FPNSpatialDecoder.forward`` with two fpn dims, in functional ops:
    lay1/gn1/relu, lay2/gn2/relu, + adapter1(stride 32), lay3/gn3/relu,
    + adapter2(stride 16), lay4/gn4/relu, out_lay."""
    def cgr(x, block):
        conv, gn = block[0], block[1]
        x = F.conv2d(x, conv.weight, conv.bias, padding=1)
        return F.relu(F.group_norm(x, 8, gn.weight, gn.bias, gn.eps))

    x = cgr(cgr(fused, dec.convs[0]), dec.convs[1])
    for block, adapter, level in ((dec.convs[2], dec.adapters[0], feats[3]),
                                  (dec.convs[3], dec.adapters[1], feats[2])):
        skip = F.conv2d(level, adapter.weight, adapter.bias)
        x = cgr(skip + F.interpolate(x, size=skip.shape[-2:], mode='nearest'), block)
    return F.conv2d(x, dec.mask_proj.weight, dec.mask_proj.bias, padding=1)


def test_released_fpn_decoder_shapes_and_formula():
    dec = _randomise(ReleasedFPNDecoder(C_FPN, MASK_DIM), 0).double().eval()
    convs = [block[0] for block in dec.convs]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (C_FPN, C_FPN), (C_FPN, C_FPN // 2), (C_FPN // 2, C_FPN // 4), (C_FPN // 4, C_FPN // 8)]
    assert all(c.bias is not None and c.kernel_size == (3, 3) for c in convs)
    assert [block[1].num_groups for block in dec.convs] == [8, 8, 8, 8]
    assert [(a.in_channels, a.out_channels, a.kernel_size) for a in dec.adapters] == [
        (C_FPN, C_FPN // 2, (1, 1)), (C_FPN, C_FPN // 4, (1, 1))]
    assert (dec.mask_proj.in_channels, dec.mask_proj.out_channels) == (C_FPN // 8, MASK_DIM)

    fused, feats = _fpn_inputs(1)
    out = dec(fused, feats)
    assert out.shape == (2, MASK_DIM) + feats[2].shape[-2:]  # stride 16
    torch.testing.assert_close(out, _fpn_by_hand(dec, fused, feats), atol=1e-10, rtol=1e-10)


def test_released_fpn_decoder_reads_only_the_stride_16_and_32_levels():
    dec = _randomise(ReleasedFPNDecoder(C_FPN, MASK_DIM), 2).double().eval()
    fused, feats = _fpn_inputs(3)
    out = dec(fused, feats)
    for level, reads in ((0, False), (1, False), (2, True), (3, True)):
        changed = list(feats)
        changed[level] = feats[level] + torch.randn(feats[level].shape, generator=_gen(10 + level),
                                                    dtype=torch.float64)
        assert torch.equal(dec(fused, changed), out) is not reads, level
    assert not torch.allclose(dec(fused + 1.0 * torch.randn_like(fused), feats), out)


# ------------------------------------------------------------------ ASPPSumNeck
def test_aspp_sum_neck_out_levels_skips_level_0():
    in_channels = (8, 16, 16, 32)
    full = ASPPSumNeck(in_channels, out_channels=12, dilations=(1, 2))
    neck = ASPPSumNeck(in_channels, out_channels=12, dilations=(1, 2), out_levels=(1, 2, 3))
    assert list(neck.levels[0].parameters()) == []
    per_level = [sum(p.numel() for p in lvl.parameters()) for lvl in full.levels]
    assert sum(p.numel() for p in neck.parameters()) == sum(per_level[1:])
    assert not any(name.startswith('levels.0.') for name in neck.state_dict())
    gen = _gen(4)
    feats = [torch.randn(2, c, s, s, generator=gen) for c, s in zip(in_channels, (16, 8, 4, 2))]
    out = neck(feats)
    assert out[0] is None
    assert [o.shape for o in out[1:]] == [(2, 12, 8, 8), (2, 12, 4, 4), (2, 12, 2, 2)]
    # the same weights in the full neck give the same levels 1..3
    full.load_state_dict(neck.state_dict(), strict=False)
    full_out = full(feats)
    for a, b in zip(out[1:], full_out[1:]):
        torch.testing.assert_close(a, b)
    assert full_out[0].shape == (2, 12, 16, 16)


# -------------------------------------------------------------- ReleasedBlockGate
CG = 8


def _gate_inputs(seed):
    gen = _gen(seed)
    return [torch.randn(2, CG, 5, 5, generator=gen, dtype=torch.float64) for _ in range(3)]


def _gate_by_hand(gate, b1, b2, b3, second='mean'):
    """Released ``Temporal_Encoder`` gate: G1 = avgpool(sigmoid(conv([E1; T1]))),
    D1 = output1(G1[:, 0] * T1); G2 = avgpool3d(sigmoid(G1)) (a mean over G1's two
    channels); out = output2(D1 + G2 * T2), with E1 = B1, T1 = B2, T2 = B3."""
    w, b = gate.gate_conv.weight, gate.gate_conv.bias
    g1 = torch.sigmoid(F.conv2d(torch.cat([b1, b2], 1), w, b, padding=1)).mean((2, 3))  # [N, 2]
    d1 = gate.out1(g1[:, 0, None, None, None] * b2)
    g2 = torch.sigmoid(g1).mean(1) if second == 'mean' else g1[:, 1]
    return gate.out2(d1 + g2[:, None, None, None] * b3)


def test_released_block_gate_formula():
    gate = _randomise(ReleasedBlockGate(CG), 5).double().eval()
    assert gate.gate_conv.out_channels == 2 and gate.gate_conv.in_channels == 2 * CG
    b1, b2, b3 = _gate_inputs(6)
    out = gate(b1, b2, b3)
    torch.testing.assert_close(out, _gate_by_hand(gate, b1, b2, b3), atol=1e-12, rtol=1e-12)
    # the oracle tells the second gate apart from the second conv channel
    assert not torch.allclose(out, _gate_by_hand(gate, b1, b2, b3, second='channel1'))


def test_released_block_gate_b1_only_feeds_the_gate():
    gate = _randomise(ReleasedBlockGate(CG), 7).double().eval()
    b1, b2, b3 = _gate_inputs(8)
    other_b1 = b1 + torch.randn(b1.shape, generator=_gen(9), dtype=torch.float64)
    assert not torch.allclose(gate(b1, b2, b3), gate(other_b1, b2, b3))
    with torch.no_grad():
        gate.gate_conv.weight.zero_()  # the gate is now sigmoid(bias): B1 has no other path
    torch.testing.assert_close(gate(other_b1, b2, b3), gate(b1, b2, b3), atol=0, rtol=0)
    assert not torch.allclose(gate(b1, b2 + 1.0, b3), gate(b1, b2, b3))
    assert not torch.allclose(gate(b1, b2, b3 + 1.0), gate(b1, b2, b3))


# ---------------------------------------------------------- ReleasedTemporalLayer
B, T, SV, CT, HEADS = 2, 3, 6, 16, 4


def _mha_by_hand(mha, query, key, value, key_padding_mask=None):
    """Multi-head attention with einsum from the in/out projection weights."""
    w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
    d = CT // HEADS

    def heads(x, w, b):
        return (x @ w.T + b).reshape(*x.shape[:-1], HEADS, d)  # [N, L, h, d]

    q, k, v = heads(query, w_q, b_q), heads(key, w_k, b_k), heads(value, w_v, b_v)
    scores = torch.einsum('nqhd,nkhd->nhqk', q, k) / d ** 0.5
    if key_padding_mask is not None:
        scores = scores.masked_fill(key_padding_mask[:, None, None, :], float('-inf'))
    out = torch.einsum('nhqk,nkhd->nqhd', scores.softmax(-1), v).flatten(-2)
    return out @ mha.out_proj.weight.T + mha.out_proj.bias


def _encoder_by_hand(enc, x, pos):
    """Post-norm encoder layer: LN(x + SA(x + pos, x + pos, x)), then LN(x + FFN(x))."""
    sa, ffn = enc.self_attn, enc.ffn
    x = F.layer_norm(x + _mha_by_hand(sa.attn, x + pos, x + pos, x), (CT,), sa.norm.weight,
                     sa.norm.bias, sa.norm.eps)
    lin1, lin2 = ffn.net[0], ffn.net[3]
    h = F.relu(x @ lin1.weight.T + lin1.bias) @ lin2.weight.T + lin2.bias
    return F.layer_norm(x + h, (CT,), ffn.norm.weight, ffn.norm.bias, ffn.norm.eps)


def _temporal_by_hand(layer, seq, seq_pos, video_pos):
    """Released ``TemporalEncoderLayer.forward``: per-frame encoder; audio from frame 0's
    copy; video <- video * a * a with a = attn(video, audio); audio <- audio * a' * a' with
    a' = attn(audio, video + video_pos, video); next sequence [video ; audio per frame]."""
    encoded = torch.stack([_encoder_by_hand(layer.encoder, seq[:, t], seq_pos[:, t])
                           for t in range(T)], dim=1)  # [B, T, SV + T, C]
    video = encoded[:, :, :SV].reshape(B, T * SV, CT)
    audio = encoded[:, 0, SV:]
    a = _mha_by_hand(layer.video_from_audio, video, audio, audio)
    video = video * a * a
    if layer.audio_from_video is not None:
        a2 = _mha_by_hand(layer.audio_from_video, audio, video + video_pos, video)
        audio = audio * a2 * a2
    next_seq = torch.cat([video.reshape(B, T, SV, CT),
                          audio[:, None].expand(B, T, T, CT)], dim=2)
    return video, next_seq, encoded


def _temporal_layer(update_audio, seed=11):
    torch.manual_seed(seed)
    layer = ReleasedTemporalLayer(CT, HEADS, dim_feedforward=24, dropout=0.1,
                                  update_audio=update_audio)
    return _randomise(layer, seed).double().eval()


def _temporal_inputs(seed=12):
    gen = _gen(seed)
    video = torch.randn(B, T, SV, CT, generator=gen, dtype=torch.float64)
    audio = torch.randn(B, T, CT, generator=gen, dtype=torch.float64)
    seq = torch.cat([video, audio[:, None].expand(B, T, T, CT)], dim=2).clone()
    vpos = torch.randn(B, T, SV, CT, generator=gen, dtype=torch.float64)
    seq_pos = torch.cat([vpos, torch.zeros(B, T, T, CT, dtype=torch.float64)], dim=2)
    return seq, seq_pos, vpos.reshape(B, T * SV, CT)


@pytest.mark.parametrize('update_audio', [True, False])
def test_released_temporal_layer_matches_a_hand_implementation(update_audio):
    layer = _temporal_layer(update_audio)
    seq, seq_pos, video_pos = _temporal_inputs()
    video, next_seq = layer(seq, seq_pos, video_pos)
    exp_video, exp_seq, encoded = _temporal_by_hand(layer, seq, seq_pos, video_pos)
    assert video.shape == (B, T * SV, CT) and next_seq.shape == seq.shape
    torch.testing.assert_close(video, exp_video, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(next_seq, exp_seq, atol=1e-10, rtol=1e-10)
    audio_out = next_seq[:, :, SV:]
    if update_audio:
        assert not torch.allclose(audio_out, encoded[:, :1, SV:].expand_as(audio_out))
    else:  # the encoded audio of frame 0 passes unchanged, copied to every frame
        assert layer.audio_from_video is None
        torch.testing.assert_close(audio_out, encoded[:, :1, SV:].expand_as(audio_out),
                                   atol=1e-12, rtol=1e-12)


def test_released_temporal_layer_reads_frame_0s_audio_copy():
    """Audio tokens of frames 1..T-1 reach only their own frame's self-attention: frame 0's
    video output (and, without the audio update, the audio passed on) ignores them, while
    the other frames' video changes. Frame 0's audio copy changes every frame's video."""
    layer = _temporal_layer(update_audio=False)
    seq, seq_pos, video_pos = _temporal_inputs()
    video, next_seq = layer(seq, seq_pos, video_pos)
    video = video.view(B, T, SV, CT)

    later = seq.clone()
    later[:, 1:, SV:] += torch.randn(later[:, 1:, SV:].shape, generator=_gen(13),
                                     dtype=torch.float64)
    video2, next_seq2 = layer(later, seq_pos, video_pos)
    video2 = video2.view(B, T, SV, CT)
    torch.testing.assert_close(video2[:, 0], video[:, 0], atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(next_seq2[:, :, SV:], next_seq[:, :, SV:], atol=1e-12, rtol=1e-12)
    for t in range(1, T):
        assert not torch.allclose(video2[:, t], video[:, t])

    first = seq.clone()
    first[:, 0, SV:] += torch.randn(first[:, 0, SV:].shape, generator=_gen(14),
                                    dtype=torch.float64)
    video3 = layer(first, seq_pos, video_pos)[0].view(B, T, SV, CT)
    for t in range(T):
        assert not torch.allclose(video3[:, t], video[:, t])
    # the hand implementation agrees on the altered inputs too
    torch.testing.assert_close(video3.reshape(B, T * SV, CT),
                               _temporal_by_hand(layer, first, seq_pos, video_pos)[0],
                               atol=1e-10, rtol=1e-10)


def test_released_temporal_layer_update_has_no_residual():
    """With the video<-audio attention's output projection at zero, a = 0 and the video
    becomes exactly 0 (v * a * a, no residual, no norm)."""
    layer = _temporal_layer(update_audio=True)
    with torch.no_grad():
        layer.video_from_audio.out_proj.weight.zero_()
        layer.video_from_audio.out_proj.bias.zero_()
    seq, seq_pos, video_pos = _temporal_inputs()
    video, next_seq = layer(seq, seq_pos, video_pos)
    assert torch.equal(video, torch.zeros_like(video))
    # and the audio update attends over that zero video: every value is the value bias,
    # so a' = W_out b_v + b_out whatever the weights
    mha = layer.audio_from_video
    a2 = mha.out_proj.weight @ mha.in_proj_bias.chunk(3)[2] + mha.out_proj.bias
    _, _, encoded = _temporal_by_hand(layer, seq, seq_pos, video_pos)
    expected_audio = encoded[:, 0, SV:] * a2 * a2
    torch.testing.assert_close(next_seq[:, 0, SV:], expected_audio, atol=1e-10, rtol=1e-10)
