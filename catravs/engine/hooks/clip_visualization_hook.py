"""Draw a few fixed clips (ground truth and prediction) at validation and test."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from catravs.registry import HOOKS


@HOOKS.register_module()
class ClipVisualizationHook(Hook):
    """At validation and test, draw the same few clips each time: the frames with the
    ground truth (top row) and the prediction (bottom row), side by side.

    The image goes through the runner's visualizer to each of its backends: with the
    default runtime, ``LocalVisBackend`` (PNG files under
    ``{work_dir}/{timestamp}/vis_data/vis_image/``) and ``TensorboardVisBackend``
    (TensorBoard images next to the loss and metric scalars). Tags are
    ``val_{clip_id}`` (step: the epoch, or the iteration for iteration-based
    training) and ``test_{clip_id}`` (step 0); no ``/`` in them, as LocalVisBackend
    writes ``{tag}_{step}.png`` into one folder.

    Clips are chosen by dataset index, so they are the same at every validation.
    In distributed runs only clips that rank 0 evaluates are drawn (the
    visualizer writes on rank 0).

    Args:
        num_clips: draw the clips of dataset indices ``0 .. num_clips - 1``.
        clip_indices: explicit dataset indices (instead of ``num_clips``).
        interval: draw at every ``interval``-th validation (tests: always).
        draw_test: also draw at ``runner.test()``.
        alpha: opacity of the masks.
    """

    priority = 'LOW'

    def __init__(self, num_clips: int = 2, clip_indices: Optional[Sequence[int]] = None,
                 interval: int = 1, draw_test: bool = True, alpha: float = 0.5) -> None:
        if num_clips < 0 or interval < 1:
            raise ValueError(f'need num_clips >= 0 and interval >= 1, got {num_clips}, '
                             f'{interval}')
        self.indices = set(range(num_clips) if clip_indices is None else clip_indices)
        self.interval = interval
        self.draw_test = draw_test
        self.alpha = alpha
        self._num_val = 0
        self._active = False

    def before_val(self, runner) -> None:
        self._num_val += 1
        self._active = bool(self.indices) and (self._num_val - 1) % self.interval == 0

    def before_test(self, runner) -> None:
        self._active = bool(self.indices) and self.draw_test

    def after_val_iter(self, runner, batch_idx: int, data_batch: dict = None,
                       outputs: Optional[Sequence] = None) -> None:
        # the step of the validation scalars, as MMEngine 0.10's LoggerHook takes it (its
        # test of ``runner._train_loop`` avoids building a train loop for a bare val run)
        loop = getattr(runner, '_train_loop', None)
        if loop is None or isinstance(loop, dict):
            step = 0
        else:
            step = runner.epoch if runner.log_processor.by_epoch else runner.iter
        self._draw(runner, 'val', outputs, step)

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict = None,
                        outputs: Optional[Sequence] = None) -> None:
        self._draw(runner, 'test', outputs, 0)

    def _draw(self, runner, mode: str, outputs: Optional[Sequence], step: int) -> None:
        if not self._active or not is_main_process():  # the backends write on rank 0 only
            return
        from catravs.visualization import AVSVisualizer
        drawer = AVSVisualizer.get_instance('catravs_clip_visualization', alpha=self.alpha)
        for sample in outputs or []:
            if sample.metainfo.get('sample_idx') not in self.indices:
                continue
            frames = drawer.read_frames(sample)
            if not frames:
                continue
            image = drawer.draw_clip(frames, sample)
            clip_id = str(sample.metainfo.get('clip_id', sample.metainfo['sample_idx']))
            runner.visualizer.add_image(f"{mode}_{clip_id.replace('/', '_')}", image, step=step)
