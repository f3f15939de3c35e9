"""Unit tests of GatedBiCrossFusion (run here with ``pytest projects/gated_bicross_fusion/tests``;
the main suite runs them too, from ``tests/projects/test_gated_bicross_unit.py``).

The plugin is imported inside a fixture that removes what it registered afterwards, so
that no test leaves ``GatedBiCrossFusion`` in catravs' global MODELS registry.
"""
from __future__ import annotations

import importlib
import os.path as osp
import sys

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
PLUGIN = 'projects.gated_bicross_fusion.gated_bicross'


@pytest.fixture
def gated_bicross(monkeypatch):
    """The imported plugin package; unregistered and unimported afterwards."""
    from catravs.registry import MODELS
    MODELS.import_from_location()
    monkeypatch.syspath_prepend(REPO_ROOT)
    names, modules = set(MODELS._module_dict), set(sys.modules)
    try:
        yield importlib.import_module(PLUGIN)
    finally:
        for name in set(MODELS._module_dict) - names:
            del MODELS._module_dict[name]
        for mod in set(sys.modules) - modules:
            if mod == 'projects' or mod.startswith('projects.'):
                del sys.modules[mod]


def _inputs(b=2, t=3, c=16, h=4, w=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(b, t, c, h, w, generator=gen), torch.randn(b, t, c, h, w, generator=gen),
            torch.randn(b, t, c, generator=gen))


def test_registered_as_a_fusion(gated_bicross):
    from catravs.models import build_model_part
    from catravs.registry import MODELS, category_of
    assert MODELS.get('GatedBiCrossFusion') is gated_bicross.GatedBiCrossFusion
    assert category_of(gated_bicross.GatedBiCrossFusion) == 'fusion'
    fusion = build_model_part(dict(type='GatedBiCrossFusion', d_model=16, nhead=2),
                              'fusion', 'model.fusion')
    assert isinstance(fusion, gated_bicross.GatedBiCrossFusion)


@pytest.mark.parametrize('time_embed', [True, False])
def test_output_shapes_and_gradients(gated_bicross, time_embed):
    from catravs.models.fusions import FusionOutput
    fusion = gated_bicross.GatedBiCrossFusion(d_model=16, nhead=2, num_layers=2,
                                              dim_feedforward=32, time_embed=time_embed)
    video, pos, audio = _inputs()
    video.requires_grad_(True)
    audio.requires_grad_(True)
    out = fusion(video, pos, audio)
    assert isinstance(out, FusionOutput)
    assert out.video.shape == (6, 16, 4, 5)  # [B*T, C, h, w]
    assert out.memory.shape == (6, 4 * 5 + 3, 16)  # [B*T, h*w + T, C]
    assert out.memory_pos.shape == out.memory.shape
    (out.video.sum() + out.memory.sum()).backward()
    assert video.grad.abs().sum() > 0 and audio.grad.abs().sum() > 0
    no_grad = [n for n, p in fusion.named_parameters() if p.grad is None]
    assert not no_grad, no_grad


def test_closed_gate_shuts_audio_out_of_the_video(gated_bicross):
    fusion = gated_bicross.GatedBiCrossFusion(d_model=16, nhead=2, num_layers=2,
                                              dim_feedforward=32, dropout=0.0).eval()
    video, pos, audio = _inputs()
    other_audio = torch.randn_like(audio)
    with torch.no_grad():
        open_a, open_b = fusion(video, pos, audio), fusion(video, pos, other_audio)
        assert not torch.allclose(open_a.video, open_b.video)
        for layer in fusion.layers:  # sigmoid(-1e4) = 0: no audio->video update
            layer.gate.weight.zero_()
            layer.gate.bias.fill_(-1e4)
        shut_a, shut_b = fusion(video, pos, audio), fusion(video, pos, other_audio)
    torch.testing.assert_close(shut_a.video, shut_b.video)
    # the audio tokens of the memory still follow the audio
    assert not torch.allclose(shut_a.memory[:, -3:], shut_b.memory[:, -3:])


def test_time_embedding(gated_bicross):
    emb = gated_bicross.time_embedding(5, 8)
    assert emb.shape == (5, 8)
    assert torch.allclose(emb[0, 1::2], torch.ones(4))  # cos(0)
    assert len({tuple(row.tolist()) for row in emb}) == 5  # one embedding per frame
    with pytest.raises(ValueError, match='even'):
        gated_bicross.time_embedding(5, 7)


def test_bad_arguments_and_shapes_are_refused(gated_bicross):
    cls = gated_bicross.GatedBiCrossFusion
    with pytest.raises(ValueError, match='nhead=3 must divide d_model=16'):
        cls(d_model=16, nhead=3)
    with pytest.raises(ValueError, match='num_layers'):
        cls(d_model=16, nhead=2, num_layers=0)
    fusion = cls(d_model=16, nhead=2, num_layers=1, dim_feedforward=16)
    video, pos, audio = _inputs()
    with pytest.raises(ValueError, match=r'audio must be \[B, T, C\] = \[2, 3, 16\]'):
        fusion(video, pos, audio[:, :2])
    with pytest.raises(ValueError, match=r'video must be \[B, T, 16, h, w\]'):
        fusion(video.flatten(0, 1), pos, audio)
