"""Fixtures of the model tests."""
from __future__ import annotations

import pytest

from catravs.models.utils import dropout_ops, lean_attention


@pytest.fixture
def captured_masks(monkeypatch):
    """Every dropout mask the lean functions (``dropout_ops``, ``lean_attention``) draw,
    in order: the oracles of the tests apply the same masks."""
    masks = []
    draw = dropout_ops.keep_mask

    def capture(shape, p, device='cpu'):
        masks.append(draw(shape, p, device))
        return masks[-1]

    monkeypatch.setattr(lean_attention, 'keep_mask', capture)
    monkeypatch.setattr(dropout_ops, 'keep_mask', capture)
    return masks
