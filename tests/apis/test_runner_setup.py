"""build_runner: a catravs default hook set to ``None`` is off (MMEngine 0.10.7 asserts on a
``None`` for any default hook but its own six, which it removes)."""
from __future__ import annotations

from mmengine.config import Config

from catravs.apis.runner_setup import build_runner
from tests.engine.test_resume import write_tiny_config


def test_default_hooks_set_to_none_are_off(tmp_path):
    cfg = Config.fromfile(write_tiny_config(str(tmp_path / 'cfg.py'), str(tmp_path / 'data')))
    cfg.work_dir = str(tmp_path / 'run')
    names = lambda runner: [type(h).__name__ for h in runner.hooks]  # noqa: E731
    assert 'RNGStateHook' in names(build_runner(cfg.copy()))
    cfg.default_hooks.rng_state = None  # catravs' own default hook
    cfg.default_hooks.checkpoint = None  # one of MMEngine's: it removes it
    found = names(build_runner(cfg))
    assert 'RNGStateHook' not in found and not any('Checkpoint' in n for n in found), found
    assert 'IterTimerHook' in found
