"""Write test predictions: AVSBench-layout mask files, overlays, per-clip score files."""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Sequence
from typing import Optional

import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import print_log
from PIL import Image

from catravs.datasets.palette import voc_palette
from catravs.evaluation.clip_scores import clip_score_arrays, save_score_file
from catravs.registry import HOOKS


def prediction_relpath(mask_path: str, data_root: str) -> str:
    """Where the prediction of a labelled frame goes, relative to the output folder.

    It mirrors the ground truth: ``gt_masks/{split}/...`` (S4, MS3) loses its
    two leading folders, as AVSBench's own ``save_mask`` writes
    ``{category}/{name}/{name}_{i}.png`` (S4) and ``{name}/{name}_{i}.png`` (MS3);
    AVSS keeps ``{label}/{uid}/labels_rgb/{i}.png``.
    """
    rel = osp.relpath(mask_path, data_root)
    parts = rel.split(os.sep)
    if parts[0] == 'gt_masks' and len(parts) > 2:
        parts = parts[2:]
    return osp.join(*parts)


def write_binary_png(mask: np.ndarray, path: str) -> None:
    """``{0, 1}[H, W]`` -> single-channel PNG with values 0 / 255."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray((mask > 0).astype(np.uint8) * 255, mode='L').save(path)


def write_palette_png(class_map: np.ndarray, path: str) -> None:
    """Class indices ``[H, W]`` -> palette ('P' mode) PNG with the AVSBench colours."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    image = Image.fromarray(class_map.astype(np.uint8), mode='P')
    image.putpalette(voc_palette(256).flatten().tolist())
    image.save(path)


@HOOKS.register_module()
class PredictionWriterHook(Hook):
    """During ``runner.test()``, save each labelled frame's prediction, overlays, and
    score files.

    Args:
        out_dir: masks go here in the AVSBench layout (binary PNG 0/255 for
            S4/MS3, palette PNG for AVSS); None: no masks.
        show_dir: frame overlays (ground truth row, prediction row) go here as
            ``{clip_id}.jpg``; None: no overlays.
        score_dir: one ``{sample_idx:06d}.npz`` per clip goes here
            (:mod:`catravs.evaluation.clip_scores`: float16 mask logits or the class
            map, the labels and the frame flags, every frame), what
            ``tools/analysis_tools/score_protocols.py`` scores under each
            method's protocol; None: none.
    """

    priority = 'LOW'

    def __init__(self, out_dir: Optional[str] = None, show_dir: Optional[str] = None,
                 score_dir: Optional[str] = None) -> None:
        self.out_dir, self.show_dir, self.score_dir = out_dir, show_dir, score_dir
        self.num_written = 0
        self.num_scored = 0

    def before_test(self, runner) -> None:
        self.data_root = runner.test_dataloader.dataset.data_root
        self.num_written = 0
        self.num_scored = 0

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict = None,
                        outputs: Optional[Sequence] = None) -> None:
        for sample in outputs or []:
            if self.out_dir:
                self._write_masks(sample)
            if self.score_dir:
                self._write_scores(sample, batch_idx)
            if self.show_dir:
                clip_id = str(sample.metainfo.get('clip_id', f'{batch_idx}'))
                from catravs.visualization import AVSVisualizer
                AVSVisualizer.get_instance('catravs_prediction_writer').add_datasample(
                    clip_id, data_sample=sample,
                    out_file=osp.join(self.show_dir, f'{clip_id.replace(os.sep, "_")}.jpg'))

    def _write_masks(self, sample) -> None:
        preds = sample.pred_masks.cpu().numpy()
        semantic = sample.seg_logits.dim() == 4
        paths = sample.metainfo.get('mask_paths') or [None] * len(preds)
        valid = sample.metainfo.get('valid_frames') or [True] * len(preds)
        for pred, path, real in zip(preds, paths, valid):
            if path is None or not real:
                continue  # padding frames and frames without label have no place
            target = osp.join(self.out_dir, prediction_relpath(path, self.data_root))
            (write_palette_png if semantic else write_binary_png)(pred, target)
            self.num_written += 1

    def _write_scores(self, sample, batch_idx: int) -> None:
        meta = sample.metainfo
        if 'gt_masks' not in sample:
            raise KeyError(f"clip '{meta.get('clip_id')}' has no gt_masks: score files need "
                           'the labels (test on a split that has them)')
        idx = meta.get('sample_idx')
        name = f'{idx:06d}' if idx is not None else f'batch{batch_idx:06d}_{self.num_scored}'
        save_score_file(osp.join(self.score_dir, f'{name}.npz'),
                        clip_score_arrays(sample.seg_logits, sample.gt_masks, meta))
        self.num_scored += 1

    def after_test(self, runner) -> None:
        if self.score_dir:
            print_log(f'wrote {self.num_scored} clip score files to {self.score_dir}',
                      logger='current')
        if self.out_dir:
            print_log(f'wrote {self.num_written} predicted masks to {self.out_dir}',
                      logger='current')
        if self.show_dir:
            print_log(f'wrote overlays to {self.show_dir}', logger='current')
