"""Fixtures of the model tests."""
from __future__ import annotations

import pytest

from catravs.models.utils import cpu_lean


@pytest.fixture
def captured_masks(monkeypatch):
    """Every dropout mask the CPU lean path (:mod:`catravs.models.utils.cpu_lean`) draws,
    in order: the oracles of the tests apply the same masks."""
    masks = []
    draw = cpu_lean.keep_mask

    def capture(shape, p, device='cpu'):
        masks.append(draw(shape, p, device))
        return masks[-1]

    monkeypatch.setattr(cpu_lean, 'keep_mask', capture)
    return masks
