"""Common logic of the AVS datasets: clip records, split filtering, padding, audio override.

A dataset yields one ``data_info`` dict per clip (see ``docs/interfaces.md``)::

    clip_id, category, split, num_frames,
    frame_paths [T] (None: padding), mask_paths [T] (None: no label),
    valid_frames [T], annotated_frames [T],
    wav_path, log_mel_path, audio_silence, audio_clip_id

``audio_clip_id`` names the clip whose audio is used (differs from ``clip_id`` only
under ``audio_override='shuffle'``).
"""
from __future__ import annotations

import csv
import os
import os.path as osp
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from catravs.registry import SCOPE

from .synthavs_on_demand import ensure_synthavs

__all__ = ['BaseAVSDataset', 'seeded_derangement', 'read_csv_rows', 'AudioOverride']

AudioOverride = Literal['silence', 'shuffle'] | None
SPLITS = ('train', 'val', 'test')


def seeded_derangement(num: int, seed: int) -> list[int]:
    """A seeded permutation of ``range(num)`` without fixed points (Sattolo's algorithm).

    ``perm[i] != i`` for every ``i``: clip ``i`` receives the audio of clip ``perm[i]``.
    """
    if num < 2:
        raise ValueError(f"audio_override='shuffle' needs at least 2 clips, got {num}")
    rng = np.random.default_rng(seed)
    perm = list(range(num))
    for i in range(num - 1, 0, -1):
        j = int(rng.integers(0, i))
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def read_csv_rows(path: str, required: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a csv file with a header, as dicts; checks the ``required`` columns."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    with open(path, newline='') as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [col for col in required if col not in header]
        if missing:
            raise ValueError(f'annotation file {path} lacks the columns {missing} '
                             f'(header: {header})')
        return [dict(row) for row in reader]


def pad_list(values: list, length: int, fill: Any) -> list:
    """``values`` cut or padded with ``fill`` to ``length``."""
    return list(values[:length]) + [fill] * max(0, length - len(values))


class BaseAVSDataset(BaseDataset):
    """Base class of the AVS datasets (one clip per item).

    Args:
        data_root: dataset folder; ``ann_file`` and ``data_prefix`` are relative to it.
        ann_file: the csv (default: the subset's AVSBench name).
        split: ``'train'``, ``'val'`` or ``'test'``: the csv rows kept.
        pipeline: transforms (built in the ``catravs`` scope when no scope is set).
        num_frames: T; clips with fewer frames are padded (``valid_frames`` False),
            longer ones are cut.
        audio_override: None, ``'silence'`` (every clip gets silence) or ``'shuffle'``
            (every clip gets the audio files of another clip: a seeded derangement).
        audio_override_seed: seed of the shuffle.
        data_prefix: folders of the parts (keys depend on the subset).
        check_files: at load time, check that each clip's frame folder exists.
        synthesize: demo data. When ``data_root`` has no annotation file, write
            SynthAVS of this dataset's layout there first, with these arguments
            of :func:`~catravs.datasets.synthavs.make_synthavs` (e.g.
            ``dict(num_train=600, num_val=60, num_test=60, image_size=64)``).
        Other args: as :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO: dict = dict(classes=('background', 'sounding'), palette=[[0, 0, 0], [255, 255, 255]],
                          task='binary')
    DEFAULT_ANN_FILE: str = ''
    DEFAULT_PREFIX: dict[str, str] = {}
    DEFAULT_NUM_FRAMES: int = 5
    SYNTHAVS_SUBSET: str = ''

    def __init__(self,
                 data_root: str = '',
                 ann_file: str | None = None,
                 split: Literal['train', 'val', 'test'] = 'train',
                 pipeline: Sequence[dict | Callable] = (),
                 num_frames: int | None = None,
                 audio_override: AudioOverride = None,
                 audio_override_seed: int = 0,
                 data_prefix: dict[str, str] | None = None,
                 check_files: bool = True,
                 synthesize: dict | None = None,
                 metainfo: dict | None = None,
                 indices: int | Sequence[int] | None = None,
                 serialize_data: bool = True,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if audio_override not in (None, 'silence', 'shuffle'):
            raise ValueError("audio_override must be None, 'silence' or 'shuffle', "
                             f'got {audio_override!r}')
        self.split = split
        self.num_frames = int(num_frames or self.DEFAULT_NUM_FRAMES)
        if self.num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        self.audio_override = audio_override
        self.audio_override_seed = audio_override_seed
        self.check_files = check_files
        prefix = dict(self.DEFAULT_PREFIX)
        unknown = set(data_prefix or {}) - set(prefix)
        if unknown:
            raise KeyError(f'{type(self).__name__}: unknown data_prefix keys {sorted(unknown)}; '
                           f'known: {sorted(prefix)}')
        prefix.update(data_prefix or {})
        if synthesize is not None:
            ensure_synthavs(data_root, self.DEFAULT_ANN_FILE if ann_file is None else ann_file,
                            self.SYNTHAVS_SUBSET, **synthesize)
        current = DefaultScope.get_current_instance()
        with DefaultScope.overwrite_default_scope(None if current else SCOPE):
            super().__init__(
                ann_file=self.DEFAULT_ANN_FILE if ann_file is None else ann_file,
                metainfo=metainfo, data_root=data_root, data_prefix=prefix,
                indices=indices, serialize_data=serialize_data, pipeline=list(pipeline),
                test_mode=test_mode, lazy_init=lazy_init, max_refetch=max_refetch)

    # ------------------------------------------------------------------ subclass API
    def load_clip_list(self) -> list[dict]:
        """Clip records of ``self.split`` (no audio override yet). Each record also
        holds ``'_row'`` (a description of its csv row) for error messages."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared logic
    def make_clip(self, clip_id: str, category: str, frame_paths: list[str],
                  mask_paths: list[str | None], wav_path: str | None,
                  log_mel_path: str | None, row: str) -> dict:
        """A clip record of ``num_frames`` frames from its real frames' paths."""
        T = self.num_frames
        n_real = min(len(frame_paths), T)
        return dict(
            clip_id=clip_id, category=category, split=self.split, num_frames=T,
            frame_paths=pad_list(frame_paths, T, None),
            mask_paths=pad_list(mask_paths, T, None),
            valid_frames=[t < n_real for t in range(T)],
            annotated_frames=[p is not None for p in pad_list(mask_paths, T, None)],
            wav_path=wav_path, log_mel_path=log_mel_path,
            audio_silence=self.audio_override == 'silence',
            audio_clip_id=clip_id, _row=row)

    def load_data_list(self) -> list[dict]:
        clips = self.load_clip_list()
        if self.check_files:
            for clip in clips:
                folder = osp.dirname(clip['frame_paths'][0])
                if not osp.isdir(folder):
                    raise FileNotFoundError(
                        f"{clip['_row']} (clip '{clip['clip_id']}'): frame folder not found: "
                        f'{folder}')
        for clip in clips:
            clip.pop('_row')
        if self.audio_override == 'shuffle':
            perm = seeded_derangement(len(clips), self.audio_override_seed)
            donors = [(c['wav_path'], c['log_mel_path'], c['clip_id']) for c in clips]
            for clip, j in zip(clips, perm):
                clip['wav_path'], clip['log_mel_path'], clip['audio_clip_id'] = donors[j]
        return clips

    def join(self, key: str, *parts: str) -> str:
        """``data_prefix[key] / parts...``."""
        return osp.join(self.data_prefix[key], *parts)

    def split_rows(self, rows: list[dict[str, str]]) -> list[tuple[int, dict[str, str]]]:
        """``(line number, row)`` of the csv rows of ``self.split``."""
        return [(i + 2, row) for i, row in enumerate(rows)
                if row['split'].strip() == self.split]

    def row_name(self, line: int) -> str:
        return f'{os.fspath(self.ann_file)} line {line}'
