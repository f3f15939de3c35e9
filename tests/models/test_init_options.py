"""The init options of the neck and the decoder do what their names say (the released
CATR sets both): ``ASPPSumNeck(weight_std=s)`` draws conv weights from N(0, s),
``AudioQueriedDecoder(xavier_init=True)`` draws the layers' matrices from Xavier's
uniform law (bound ``sqrt(6 / (fan_in + fan_out))``, computed here by hand)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from catravs.models.decoders.audio_queried_decoder import AudioQueriedDecoder
from catravs.models.necks.aspp_sum_neck import ASPPSumNeck


def conv_weights(neck: nn.Module) -> torch.Tensor:
    return torch.cat([m.weight.flatten() for m in neck.modules() if isinstance(m, nn.Conv2d)])


def test_neck_weight_std():
    torch.manual_seed(0)
    w = conv_weights(ASPPSumNeck((64, 64), out_channels=64, dilations=(1, 2), weight_std=0.01))
    assert w.numel() > 100_000
    assert w.std().item() == pytest.approx(0.01, rel=0.02) and abs(w.mean().item()) < 1e-4
    torch.manual_seed(0)
    default = conv_weights(ASPPSumNeck((64, 64), out_channels=64, dilations=(1, 2)))
    # PyTorch's default (Kaiming uniform, a=sqrt(5)): std = 1 / sqrt(3 * fan_in), fan_in = 64*9
    assert default.std().item() == pytest.approx(1 / math.sqrt(3 * 64 * 9), rel=0.02)


def _decoder(xavier: bool) -> AudioQueriedDecoder:
    torch.manual_seed(0)
    return AudioQueriedDecoder(num_queries=4, d_model=64, nhead=4, num_layers=2,
                               dim_feedforward=256, xavier_init=xavier)


def test_decoder_xavier_init():
    matrices = [p for p in _decoder(True).layers.parameters() if p.dim() == 2]
    assert len(matrices) >= 8
    for p in matrices:
        fan_out, fan_in = p.shape
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert p.abs().max().item() <= bound
        assert p.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.1)  # U(-b, b)
    # without the option, the feed-forward layers keep nn.Linear's default init
    default = dict(_decoder(False).layers.named_parameters())
    changed = [name for name, p in _decoder(True).layers.named_parameters()
               if p.dim() == 2 and not torch.equal(p, default[name])]
    assert any('linear' in name or 'ffn' in name for name in changed), changed
