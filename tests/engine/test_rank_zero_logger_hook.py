"""RankZeroLoggerHook on its own: the test metrics json is written by rank 0 only, and
exactly as MMEngine's LoggerHook writes it there."""
from __future__ import annotations

import json
import logging
import os.path as osp
from types import SimpleNamespace

import pytest

import catravs.engine.hooks.rank_zero_logger_hook as module
from catravs.registry import HOOKS


class FixedLogProcessor:
    """What MMEngine's LogProcessor returns after a test epoch, for fixed metrics."""

    def get_log_after_epoch(self, runner, batches, mode, with_non_scalar=False):
        assert mode == 'test' and batches == len(runner.test_dataloader)
        return {'mIoU': 0.625, 'F-score': 0.75}, 'Epoch(test) mIoU: 0.6250'


def fake_runner(log_dir: str) -> SimpleNamespace:
    return SimpleNamespace(log_processor=FixedLogProcessor(), test_dataloader=[0, 1, 2],
                           logger=logging.getLogger('rank_zero_test'), log_dir=log_dir)


@pytest.mark.parametrize('main_process', [True, False])
def test_only_rank_zero_writes_the_test_metrics(main_process, tmp_path, monkeypatch):
    monkeypatch.setattr(module, 'is_main_process', lambda: main_process)
    hook = HOOKS.build(dict(type='RankZeroLoggerHook'))
    hook.json_log_path = '20260101_000000.json'  # what before_run sets from the timestamp
    hook.after_test_epoch(fake_runner(str(tmp_path)), {'mIoU': 0.625})
    path = osp.join(str(tmp_path), '20260101_000000.json')
    if main_process:
        with open(path) as f:
            assert json.load(f) == {'mIoU': 0.625, 'F-score': 0.75}
    else:
        assert not osp.exists(path)


def test_it_is_a_logger_hook_that_keeps_the_other_stages():
    from mmengine.hooks import LoggerHook
    hook = HOOKS.build(dict(type='RankZeroLoggerHook', interval=7))
    assert isinstance(hook, LoggerHook) and hook.interval == 7
    for stage in ('after_train_iter', 'after_val_epoch', 'after_test_iter'):
        assert getattr(type(hook), stage) is getattr(LoggerHook, stage)
