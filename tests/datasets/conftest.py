"""Small SynthAVS datasets shared by the dataset tests (generated once per session)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from catravs.datasets.synthavs import make_synthavs

COUNTS = dict(num_train=6, num_val=3, num_test=3)


@pytest.fixture(scope='session')
def s4_root(tmp_path_factory) -> str:
    return make_synthavs(tmp_path_factory.mktemp('s4'), 's4', **COUNTS, seed=1)


@pytest.fixture(scope='session')
def ms3_root(tmp_path_factory) -> str:
    return make_synthavs(tmp_path_factory.mktemp('ms3'), 'ms3', **COUNTS, seed=2)


@pytest.fixture(scope='session')
def avss_root(tmp_path_factory) -> str:
    # enough clips that every label folder occurs in the train split
    return make_synthavs(tmp_path_factory.mktemp('avss'), 'avss', num_train=9, num_val=3,
                         num_test=3, seed=3)


@pytest.fixture
def s4_copy(s4_root, tmp_path) -> Path:
    """A private copy of the S4 SynthAVS that a test may damage."""
    dst = tmp_path / 's4_copy'
    shutil.copytree(s4_root, dst)
    return dst


@pytest.fixture
def s4_pipeline() -> list[dict]:
    return [dict(type='LoadClipFrames'), dict(type='LoadClipMasks'),
            dict(type='LoadClipAudio'), dict(type='PackAVSInputs')]


@pytest.fixture
def avss_pipeline() -> list[dict]:
    return [dict(type='LoadClipFrames'), dict(type='LoadClipMasks', mask_type='semantic'),
            dict(type='LoadClipAudio', source='wav'), dict(type='PackAVSInputs')]


@pytest.fixture
def mm_messages():
    """Messages logged to MMEngine's current logger during the test."""
    import logging

    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    seen: list[str] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    yield seen
    logger.removeHandler(handler)
