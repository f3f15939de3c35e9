"""MMEngine's LoggerHook with the test-metrics json written by one process."""
from __future__ import annotations

from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook

from catravs.registry import HOOKS


@HOOKS.register_module()
class RankZeroLoggerHook(LoggerHook):
    """``LoggerHook`` whose ``after_test_epoch`` runs on rank 0 only.

    MMEngine 0.10.7 dumps the test metrics to ``{log_dir}/{timestamp}.json`` on every
    rank; the ranks share the timestamp, so in a distributed test they write the same
    file at once and can leave it interleaved (``...}8}``). The metrics are gathered on
    every rank, so rank 0's copy is complete.
    """

    def after_test_epoch(self, runner, metrics: Optional[dict[str, float]] = None) -> None:
        if is_main_process():
            super().after_test_epoch(runner, metrics)
