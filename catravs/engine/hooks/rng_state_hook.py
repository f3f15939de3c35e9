"""Restore the random state on resume, and keep validation from consuming it."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

from mmengine.dist import get_dist_info
from mmengine.hooks import Hook

from catravs.registry import HOOKS

from ..checkpoint_io import RNGState, get_rng_state, set_rng_state


class _RestoreBeforeNextBatch:
    """Wraps a train loop's ``dataloader_iterator``: after ``skip`` batches, sets the
    random state, then fetches the next batch and unwraps itself.

    ``IterBasedTrainLoop.run`` replays the batches of a resumed run (to reach the
    same place of the data stream) before it trains; loading them draws random
    numbers (augmentation in the main process when ``num_workers=0``, the
    DataLoader's base seed at each epoch). The state saved in the checkpoint is
    the one that the uninterrupted run had just before fetching its next batch,
    so this is where it has to be put back.
    """

    def __init__(self, loop: Any, inner: Iterator, skip: int, state: RNGState) -> None:
        self._loop, self._inner, self._skip, self._state = loop, inner, skip, state
        self._fetched = 0

    def __iter__(self) -> _RestoreBeforeNextBatch:
        return self

    def __next__(self) -> Any:
        if self._fetched >= self._skip:
            set_rng_state(self._state)
            self._loop.dataloader_iterator = self._inner
        self._fetched += 1
        return next(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make a resumed run draw the same random numbers as an uninterrupted one.

    * On resume, it restores the random state (Python, NumPy, torch CPU and
      CUDA) that :class:`AtomicCheckpointHook` recorded for this rank, at the
      point where the uninterrupted run stood: before the first batch after
      the replayed ones (``IterBasedTrainLoop``) or before the next epoch
      (``EpochBasedTrainLoop``). With ``load_from`` alone (no resume) nothing
      is restored.
    * With ``isolate_validation`` (default), the random state is saved before
      each validation and put back right after it (before the checkpoint hook
      re-saves a checkpoint), so validating does not change the training that
      follows, and a run resumed after a validation draws the same numbers.

    Exactness also needs deterministic kernels (``randomness.deterministic``),
    the same world size, and data loading whose randomness replays: with
    ``EpochBasedTrainLoop``, ``num_workers=0`` or ``persistent_workers=False``
    (persistent worker processes of a resumed run start from their seed again);
    with ``IterBasedTrainLoop`` any setting. See docs/robustness.md.

    Args:
        isolate_validation: restore the training random state after validation.
    """

    # before the CheckpointHook (VERY_LOW), which re-saves in after_val_epoch
    priority = 'VERY_HIGH'

    def __init__(self, isolate_validation: bool = True) -> None:
        self.isolate_validation = isolate_validation
        self._loaded: Optional[list[RNGState]] = None
        self._before_val: Optional[RNGState] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = (checkpoint.get('meta') or {}).get('rng_state')

    def before_train(self, runner) -> None:
        states, self._loaded = self._loaded, None
        if runner.iter == 0 and runner.epoch == 0:
            return  # a fresh run (or load_from): the seed decides
        if states is None:
            runner.logger.warning(
                'the resumed checkpoint holds no random state (it was not written by '
                'AtomicCheckpointHook with save_rng_state=True): training goes on, but '
                'does not repeat the random numbers of an uninterrupted run')
            return
        rank, world_size = get_dist_info()
        if len(states) != world_size:
            runner.logger.warning(
                f'the resumed checkpoint holds the random state of {len(states)} ranks, '
                f'this run has {world_size}: random state not restored')
            return
        state = states[rank]
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator') and runner.iter > 0:
            loop.dataloader_iterator = _RestoreBeforeNextBatch(
                loop, loop.dataloader_iterator, runner.iter, state)
        else:
            set_rng_state(state)
        runner.logger.info(f'random state of rank {rank} restored from the checkpoint')

    def before_val(self, runner) -> None:
        if self.isolate_validation:
            self._before_val = get_rng_state()

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if self._before_val is not None:
            set_rng_state(self._before_val)
            self._before_val = None
