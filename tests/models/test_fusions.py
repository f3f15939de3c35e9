"""Fusion modules: CATR's combinatorial-dependence fusion, its ablation variants and baselines."""
import math

import pytest
import torch

from catravs.models import build_model_part, registered_in_category
from catravs.models.fusions import (
    CombinatorialDependenceFusion,
    CrossAttentionFusion,
    FusionOutput,
    NoGateFusion,
    SpatialOnlyFusion,
    TemporalOnlyFusion,
    VisualOnlyFusion,
)
from catravs.models.utils import frame_position_embedding
from catravs.registry import MODELS
from tests.conftest import tiny_catr_cfg

B, T, C, H, W = 2, 3, 32, 4, 5
COMMON = dict(d_model=C, nhead=4, num_layers=2, dim_feedforward=48, dropout=0.0)
TEMPORAL = dict(temporal_feedforward=24)
CONFIGS = {
    'CombinatorialDependenceFusion': dict(**COMMON, **TEMPORAL),
    'SpatialOnlyFusion': dict(**COMMON, **TEMPORAL),
    'TemporalOnlyFusion': dict(**COMMON, **TEMPORAL),
    'NoGateFusion': dict(**COMMON, **TEMPORAL),
    'VisualOnlyFusion': dict(COMMON),
    'CrossAttentionFusion': dict(COMMON),
}
AUDIO_FUSIONS = [name for name in CONFIGS if name != 'VisualOnlyFusion']


def build(name: str, **overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model_part(dict(type=name, **{**CONFIGS[name], **overrides}), 'fusion')


def inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``video[B, T, C, h, w]``, ``video_pos`` (same shape), ``audio[B, T, C]``."""
    gen = torch.Generator().manual_seed(seed)
    video = torch.randn(B, T, C, H, W, generator=gen)
    pos = torch.randn(B, T, C, H, W, generator=gen)
    audio = torch.randn(B, T, C, generator=gen)
    return video, pos, audio


def test_variants_are_registered_fusions():
    names = registered_in_category('fusion')
    for name in CONFIGS:
        assert name in names
    assert issubclass(MODELS.get('NoGateFusion'), CombinatorialDependenceFusion)


@pytest.mark.parametrize('name', list(CONFIGS))
def test_output_shapes(name):
    fusion = build(name)
    out = fusion(*inputs())
    assert isinstance(out, FusionOutput)
    tokens = H * W if name == 'VisualOnlyFusion' else H * W + T
    assert out.video.shape == (B * T, C, H, W)
    assert out.memory.shape == (B * T, tokens, C)
    assert out.memory_pos.shape == out.memory.shape
    assert torch.isfinite(out.video).all() and torch.isfinite(out.memory).all()


@pytest.mark.parametrize('name', list(CONFIGS))
def test_gradients_reach_every_parameter(name):
    fusion = build(name)
    video, pos, audio = inputs()
    video.requires_grad_(True)
    audio.requires_grad_(True)
    out = fusion(video, pos, audio)
    gen = torch.Generator().manual_seed(1)
    # random weights: the sum of a LayerNorm output has no gradient
    loss = ((out.video * torch.randn(out.video.shape, generator=gen)).sum()
            + (out.memory * torch.randn(out.memory.shape, generator=gen)).sum())
    loss.backward()
    dead = [n for n, p in fusion.named_parameters()
            if p.requires_grad and (p.grad is None or not p.grad.abs().sum())]
    assert dead == []
    assert video.grad.abs().sum() > 0
    if name == 'VisualOnlyFusion':
        assert audio.grad is None
    else:
        assert audio.grad.abs().sum() > 0


@pytest.mark.parametrize('name', AUDIO_FUSIONS)
def test_audio_changes_the_output(name):
    fusion = build(name).eval()
    video, pos, audio = inputs()
    ref = fusion(video, pos, audio)
    other = fusion(video, pos, torch.randn_like(audio))
    assert not torch.allclose(ref.video, other.video)
    assert not torch.allclose(ref.memory, other.memory)


def test_visual_only_ignores_audio():
    fusion = build('VisualOnlyFusion').eval()
    video, pos, audio = inputs()
    ref = fusion(video, pos, audio)
    other = fusion(video, pos, torch.randn_like(audio))
    torch.testing.assert_close(ref.video, other.video, rtol=0, atol=0)
    torch.testing.assert_close(ref.memory, other.memory, rtol=0, atol=0)
    # the memory holds the fused video tokens, and the video depends on the frames
    torch.testing.assert_close(ref.memory, ref.video.flatten(2).transpose(1, 2))
    assert not torch.allclose(fusion(video + 1, pos, audio).video, ref.video)


@pytest.mark.parametrize('name', ['CombinatorialDependenceFusion', 'CrossAttentionFusion'])
def test_audio_of_one_frame_reaches_the_other_frames(name):
    """Video tokens of all frames read the clip's audio: changing frame 0's audio
    changes the fused video of the last frame."""
    fusion = build(name).eval()
    video, pos, audio = inputs()
    changed = audio.clone()
    changed[:, 0] = torch.randn(B, C)
    ref = fusion(video, pos, audio).video.view(B, T, C, H, W)
    other = fusion(video, pos, changed).video.view(B, T, C, H, W)
    assert not torch.allclose(ref[:, -1], other[:, -1])


def test_frame_position_embedding_by_hand():
    emb = frame_position_embedding(4, 6, temperature=100.0)
    for t in range(4):
        for i in range(3):
            angle = t / 100.0 ** (2 * i / 6)
            assert emb[t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert emb[t, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    emb = frame_position_embedding(10, 64)
    sim = emb @ emb.T            # each frame is most similar to itself
    assert torch.equal(sim.argmax(dim=1), torch.arange(10))
    with pytest.raises(ValueError, match='even'):
        frame_position_embedding(3, 5)


@pytest.mark.parametrize('frame_pos', [False, True])
def test_frame_pos_tells_a_frame_its_own_audio(frame_pos):
    """Without frame positions the spatial branch cannot tell which audio token is the
    frame's own: reversing the audio tokens in time leaves every frame's output as it is.
    With them, it changes the output."""
    fusion = build('SpatialOnlyFusion', frame_pos=frame_pos).eval()
    video, pos, audio = inputs()
    ref = fusion(video, pos, audio).video
    flipped = fusion(video, pos, audio.flip(1)).video
    if frame_pos:
        assert (ref - flipped).abs().max() > 1e-3
    else:
        torch.testing.assert_close(ref, flipped, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('name', ['CombinatorialDependenceFusion', 'TemporalOnlyFusion',
                                  'NoGateFusion'])
def test_frame_pos_reaches_every_branch(name):
    """Same weights, with and without frame positions: outputs and memory positions differ
    only by the frame embedding, which ``memory_pos`` carries for video and audio tokens."""
    off, on = build(name).eval(), build(name, frame_pos=True).eval()
    on.load_state_dict(off.state_dict())
    video, pos, audio = inputs()
    out_off, out_on = off(video, pos, audio), on(video, pos, audio)
    assert (out_off.video - out_on.video).abs().max() > 1e-3
    time = frame_position_embedding(T, C)
    added = (out_on.memory_pos - out_off.memory_pos).unflatten(0, (B, T))
    torch.testing.assert_close(added[:, :, :H * W], time[None, :, None].expand(B, T, H * W, C))
    torch.testing.assert_close(added[:, :, H * W:], time[None, None].expand(B, T, T, C))


def test_switches_are_fixed():
    assert not hasattr(build('SpatialOnlyFusion'), 'temporal_blocks')
    temporal = build('TemporalOnlyFusion')
    assert not hasattr(temporal, 'spatial_layers') and hasattr(temporal, 'gates')
    no_gate = build('NoGateFusion')
    assert hasattr(no_gate, 'spatial_layers') and hasattr(no_gate, 'temporal_blocks')
    assert not hasattr(no_gate, 'gates')
    for cls in (SpatialOnlyFusion, TemporalOnlyFusion, NoGateFusion):
        with pytest.raises(TypeError):
            cls(use_gate=True)


def test_no_gate_returns_the_last_block():
    """Without gates, the fused video is the last temporal block's tokens."""
    fusion = build('NoGateFusion').eval()
    video, pos, audio = inputs()
    captured = {}

    def keep(module, args, out):
        captured['v'] = out[0]

    fusion.temporal_blocks[-1].register_forward_hook(keep)
    out = fusion(video, pos, audio)
    expected = captured['v'].flatten(0, 1).transpose(1, 2).reshape(B * T, C, H, W)
    torch.testing.assert_close(out.video, expected)


def test_cross_attention_memory_keeps_the_audio_tokens():
    fusion = build('CrossAttentionFusion', dim_feedforward=0).eval()
    video, pos, audio = inputs()
    out = fusion(video, pos, audio)
    mem_audio = out.memory[:, H * W:].view(B, T, T, C)
    for t in range(T):
        torch.testing.assert_close(mem_audio[:, t], audio)
    assert not out.memory_pos[:, H * W:].any()
    assert fusion.layers[0].ffn is None
    with pytest.raises(ValueError, match='audio'):
        fusion(video, pos, audio[:, :2])
    with pytest.raises(ValueError, match='num_layers'):
        CrossAttentionFusion(num_layers=0)
    with pytest.raises(ValueError, match='num_layers'):
        VisualOnlyFusion(num_layers=0)


@pytest.mark.parametrize('fusion', [
    dict(type='SpatialOnlyFusion'), dict(type='TemporalOnlyFusion'), dict(type='NoGateFusion'),
    dict(type='VisualOnlyFusion', _delete_=True), dict(type='CrossAttentionFusion', _delete_=True)])
def test_catr_trains_with_each_variant(make_batch, fusion):
    """Each variant plugs into CATR: finite loss, gradients in the fusion."""
    cfg = tiny_catr_cfg()
    fusion = dict(fusion)
    if fusion.pop('_delete_', False):
        cfg['fusion'] = dict(type=fusion['type'], d_model=32, nhead=4, num_layers=1,
                             dim_feedforward=32)
    else:
        cfg['fusion']['type'] = fusion['type']
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    data = model.data_preprocessor(make_batch(batch=1, frames=3, size=32), True)
    losses = model(**data, mode='loss')
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.fusion.parameters())
