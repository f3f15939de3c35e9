"""Tests of the audio encoders: VGGish (torchvggish naming), the tiny encoder, precomputed."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from catravs.datasets.transforms.audio import vggish_log_mel_clip
from catravs.models import build_model_part
from catravs.models.audio_encoders import PrecomputedAudioEmbedding, TinyAudioEncoder, VGGish
from catravs.models.backbones import pretrained as pretrained_module

#: torchvggish's vggish-10086976.pth: key -> shape (features.{0,3,6,8,11,13} are the
#: convs of make_layers(); embeddings.{0,2,4} the Linear layers).
TORCHVGGISH_SHAPES: dict[str, tuple[int, ...]] = {
    'features.0.weight': (64, 1, 3, 3), 'features.0.bias': (64,),
    'features.3.weight': (128, 64, 3, 3), 'features.3.bias': (128,),
    'features.6.weight': (256, 128, 3, 3), 'features.6.bias': (256,),
    'features.8.weight': (256, 256, 3, 3), 'features.8.bias': (256,),
    'features.11.weight': (512, 256, 3, 3), 'features.11.bias': (512,),
    'features.13.weight': (512, 512, 3, 3), 'features.13.bias': (512,),
    'embeddings.0.weight': (4096, 12288), 'embeddings.0.bias': (4096,),
    'embeddings.2.weight': (4096, 4096), 'embeddings.2.bias': (4096,),
    'embeddings.4.weight': (128, 4096), 'embeddings.4.bias': (128,),
}


def _capture_log(monkeypatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(pretrained_module, 'print_log', lambda msg, **kw: lines.append(msg))
    return lines


def _reference_vggish(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """torchvggish's forward written out with functional ops."""
    for i in (0, 3, 6, 8, 11, 13):
        x = F.relu(F.conv2d(x, state[f'features.{i}.weight'], state[f'features.{i}.bias'],
                            padding=1))
        if i in (0, 3, 8, 13):
            x = F.max_pool2d(x, 2, 2)
    x = torch.transpose(x, 1, 3)   # [N, W, H, C]
    x = torch.transpose(x, 1, 2)   # [N, H, W, C]
    x = x.contiguous().view(x.size(0), -1)
    for i in (0, 2, 4):
        x = F.relu(F.linear(x, state[f'embeddings.{i}.weight'], state[f'embeddings.{i}.bias']))
    return x


def test_vggish_loads_torchvggish_file(tmp_path, monkeypatch) -> None:
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(s, generator=gen) * (0.5 / np.sqrt(np.prod(s[1:])) if len(s) > 1
                                                   else 0.01)
             for k, s in TORCHVGGISH_SHAPES.items()}
    file_state = dict(state, **{'pproc._pca_matrix': torch.randn(128, 128),
                                'pproc._pca_means': torch.randn(128, 1)})
    path = tmp_path / 'vggish-10086976.pth'
    torch.save(file_state, path)
    lines = _capture_log(monkeypatch)
    model = build_model_part(dict(type='VGGish', init_cfg=dict(type='Pretrained',
                                                              checkpoint=str(path))),
                             'audio_encoder')
    model.init_weights()
    own = model.state_dict()
    assert set(own) == set(TORCHVGGISH_SHAPES)  # nothing of the model left out
    for key, value in state.items():
        assert torch.equal(own[key], value), key
    assert len(lines) == 1 and 'missing keys: none' in lines[0]
    assert 'unexpected keys: none' in lines[0]
    assert 'pproc._pca_matrix, pproc._pca_means' in lines[0] and 'PCA' in lines[0]
    # NHWC flatten order of torchvggish
    x = torch.randn(3, 1, 96, 64)
    out = model(x)
    assert out.shape == (3, 128)
    assert torch.allclose(out, _reference_vggish(state, x), atol=1e-4, rtol=1e-4)
    assert out.abs().sum() > 0


def test_vggish_frozen_by_default() -> None:
    model = VGGish()
    assert model.out_channels == 128
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not model.training and not any(m.training for m in model.modules())
    out = model(torch.randn(2, 96, 64))  # [N, 96, 64] accepted
    assert out.shape == (2, 128) and not out.requires_grad
    with pytest.raises(ValueError, match='96, 64'):
        model(torch.randn(2, 1, 64, 96))


def test_vggish_trainable() -> None:
    model = VGGish(frozen=False).train()
    assert model.training and all(p.requires_grad for p in model.parameters())
    model(torch.randn(2, 1, 96, 64)).sum().backward()
    assert model.features[0].weight.grad is not None


def test_precomputed_audio_embedding() -> None:
    ident = build_model_part(dict(type='PrecomputedAudioEmbedding'), 'audio_encoder')
    x = torch.randn(4, 128)
    assert ident.out_channels == 128 and torch.equal(ident(x), x)
    assert torch.equal(ident(x[:, None]), x)
    proj = PrecomputedAudioEmbedding(in_channels=128, out_channels=32)
    assert proj.out_channels == 32 and proj(x).shape == (4, 32)
    with pytest.raises(ValueError, match='128'):
        proj(torch.randn(4, 64))


def test_category_checks() -> None:
    with pytest.raises(TypeError, match='audio_encoder'):
        build_model_part(dict(type='TinyConvBackbone'), 'audio_encoder')
    assert isinstance(build_model_part(dict(type='TinyAudioEncoder', out_channels=16),
                                       'audio_encoder'), TinyAudioEncoder)


def _harmonic_tones(n: int, pitches: list[float], rng: np.random.Generator
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-mel examples of harmonic tones (4 partials, random phases/levels, noise)."""
    t = np.arange(15600) / 16000.0  # exactly one VGGish example
    examples, labels = [], []
    for i in range(n):
        label = i % len(pitches)
        f0 = pitches[label] * (1 + rng.uniform(-0.02, 0.02))
        wav = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3))
                  for k in range(1, 5))
        wav = wav * rng.uniform(0.05, 0.5) + 0.01 * rng.standard_normal(t.size)
        examples.append(vggish_log_mel_clip(wav, 16000, 1)[0])
        labels.append(label)
    return torch.cat(examples), torch.tensor(labels)


def test_tiny_audio_encoder_learns_pitch() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pitches = [220.0, 277.2, 349.2, 440.0]  # A3, C#4, F4, A4
    x_train, y_train = _harmonic_tones(48, pitches, rng)
    x_test, y_test = _harmonic_tones(32, pitches, rng)
    encoder = TinyAudioEncoder()
    assert encoder(x_train[:2]).shape == (2, 128)
    head = torch.nn.Linear(128, len(pitches))
    optim = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=3e-3)
    encoder.train()
    for _ in range(30):
        idx = torch.randint(0, len(x_train), (16,))
        loss = F.cross_entropy(head(encoder(x_train[idx])), y_train[idx])
        optim.zero_grad()
        loss.backward()
        optim.step()
    encoder.eval()
    with torch.no_grad():
        accuracy = (head(encoder(x_test)).argmax(1) == y_test).float().mean().item()
    assert accuracy >= 0.9
