"""MMEngine's CheckpointHook with crash-safe writes and the random state for exact resume."""
from __future__ import annotations

import os
import os.path as osp
from typing import Any, Optional

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from catravs.registry import HOOKS

from ..checkpoint_io import (
    LAST_CHECKPOINT,
    atomic_write_text,
    commit_file,
    gather_rng_states,
    remove_stale_temp_files,
    temp_path_for,
)
from .rng_state_hook import RNGStateHook


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Save checkpoints so that a process killed at any moment never leaves a
    truncated checkpoint for ``--resume`` to pick up.

    It takes every argument of MMEngine's ``CheckpointHook`` and changes how
    files are written, not when:

    * a checkpoint goes to a hidden temporary file in the output folder, is
      ``fsync``-ed and renamed over its final name (``os.replace``);
    * ``last_checkpoint`` is rewritten the same way, and only after the
      checkpoint it names is complete;
    * outdated checkpoints (``max_keep_ckpts``) and the previous best
      checkpoint are removed only after their successor is complete
      (MMEngine removes them first, so a kill in between could lose the only
      copy);
    * with ``save_rng_state`` (default), ``meta['rng_state']`` of every
      regular checkpoint holds the random state of every rank
      (:func:`catravs.engine.checkpoint_io.get_rng_state`), which
      :class:`RNGStateHook` restores on resume;
    * temporary files left by a killed run are deleted before training.

    Output folders on remote storage backends are written as MMEngine does
    (object stores replace objects atomically on upload).

    Args:
        save_rng_state: record the ranks' random state in regular checkpoints.
        **kwargs: the arguments of ``mmengine.hooks.CheckpointHook``.
    """

    def __init__(self, *args: Any, save_rng_state: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.save_rng_state = save_rng_state

    # ------------------------------------------------------------------ helpers
    def _is_local(self) -> bool:
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def _write_checkpoint(self, runner, filename: str, **kwargs: Any) -> None:
        """``runner.save_checkpoint`` into ``self.out_dir/filename``, atomically.

        Called on every rank (``runner.save_checkpoint`` writes on rank 0 only).
        """
        common = dict(file_client_args=self.file_client_args, backend_args=self.backend_args)
        if not self._is_local():
            runner.save_checkpoint(self.out_dir, filename, **common, **kwargs)
            return
        final = osp.join(self.out_dir, filename)
        tmp = temp_path_for(final)
        try:
            runner.save_checkpoint(self.out_dir, osp.basename(tmp), **common, **kwargs)
        except BaseException:
            # the save failed or was interrupted: drop the partial file, keep the old one
            if is_main_process() and osp.isfile(tmp):
                os.remove(tmp)
            raise
        if is_main_process():
            commit_file(tmp, final)

    def _remove(self, runner, path: Optional[str]) -> None:
        """Delete an outdated checkpoint (file or DeepSpeed folder); main process only."""
        if not path or not is_main_process():
            return
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    # ------------------------------------------------------------------ hook points
    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._is_local() and is_main_process():
            for path in remove_stale_temp_files(self.out_dir):
                runner.logger.warning(f'removed {path}: an interrupted checkpoint write')
        if self.save_rng_state and not any(isinstance(h, RNGStateHook)
                                           for h in runner.hooks):
            runner.logger.warning(
                'AtomicCheckpointHook records the random state, but no RNGStateHook is '
                'registered to restore it: a resumed run will not repeat the random '
                'numbers of an uninterrupted one. Add default_hooks.rng_state='
                "dict(type='RNGStateHook').")

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        outdated: list[int] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        meta = dict(meta)
        if self.save_rng_state:
            meta['rng_state'] = gather_rng_states()  # collective: every rank is here
        self._write_checkpoint(
            runner, ckpt_filename, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, **self.args)

        if not is_main_process():
            return
        # the pointer moves only once the checkpoint it names is complete
        atomic_write_text(osp.join(runner.work_dir, LAST_CHECKPOINT), self.last_ckpt)
        for old_step in outdated:
            old = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            if old != self.last_ckpt:
                self._remove(runner, old)

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        if not self.save_best:
            return
        if self.by_epoch:
            cur_type, cur_time = 'epoch', runner.epoch
        else:
            cur_type, cur_time = 'iter', runner.iter
        ckpt_filename = self.filename_tmpl.format(cur_time)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])

        single = len(self.key_indicators) == 1
        updated = False
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            score_key = 'best_score' if single else f'best_score_{key_indicator}'
            path_key = 'best_ckpt' if single else f'best_ckpt_{key_indicator}'
            previous = (self.best_ckpt_path if single
                        else self.best_ckpt_path_dict[key_indicator])
            score = metrics[key_indicator]
            best = runner.message_hub.get_info(score_key, self.init_value_map[rule])
            if score is None or not self.is_better_than[key_indicator](score, best):
                continue
            updated = True
            runner.message_hub.update_info(score_key, score)

            best_name = f'best_{key_indicator}_{ckpt_filename}'.replace('/', '_')
            best_path = self.file_backend.join_path(self.out_dir, best_name)
            if single:
                self.best_ckpt_path = best_path
            else:
                self.best_ckpt_path_dict[key_indicator] = best_path
            runner.message_hub.update_info(path_key, best_path)
            self._write_checkpoint(
                runner, best_name, save_optimizer=False, save_param_scheduler=False,
                meta=dict(epoch=runner.epoch, iter=runner.iter), by_epoch=False)
            if previous and previous != best_path and is_main_process():
                self._remove(runner, previous)
                runner.logger.info(f'The previous best checkpoint {previous} is removed')
            runner.logger.info(f'The best checkpoint with {score:0.4f} {key_indicator} '
                               f'at {cur_time} {cur_type} is saved to {best_name}.')

        # re-save the latest regular checkpoint so that its message hub names the new
        # best checkpoint (as MMEngine does)
        if updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(
                runner, cur_time, dict(epoch=runner.epoch, iter=runner.iter))
