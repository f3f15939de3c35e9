"""AVSBench-semantic (AVSS) dataset."""
from __future__ import annotations

import json
import os.path as osp
from collections.abc import Sequence

from catravs.registry import DATASETS

from .base_avs_dataset import BaseAVSDataset, read_csv_rows
from .palette import voc_palette

__all__ = ['AVSSDataset', 'load_label2idx']

LABEL_FRAMES = {'v1s': 5, 'v1m': 5, 'v2': 10}


def load_label2idx(path: str) -> tuple[str, ...]:
    """Class names from a ``label2idx.json``, ordered by index (background first).

    AVSBench's file is 1-based (``"background": 1``); 0-based files work too: class
    ``c`` of the label maps is the ``c``-th name in index order.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'label2idx file not found: {path}')
    with open(path) as f:
        mapping = json.load(f)
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(f'{path} must hold a non-empty {{name: index}} object')
    names = sorted(mapping, key=lambda name: mapping[name])
    indices = [mapping[name] for name in names]
    if indices != list(range(indices[0], indices[0] + len(indices))) or indices[0] not in (0, 1):
        raise ValueError(f'{path}: indices must be consecutive from 0 or 1, got {indices[:10]}...')
    if names[0] != 'background':
        raise ValueError(f"{path}: the lowest index must be 'background', got {names[0]!r}")
    return tuple(names)


@DATASETS.register_module()
class AVSSDataset(BaseAVSDataset):
    """AVSBench-semantic: v1s / v1m clips (5 frames) and v2 clips (10 frames).

    Layout (relative to ``data_root``)::

        metadata.csv                vid,uid,s_min,s_sec,a_obj,split,label
        label2idx.json              {"background": 1, "accordion": 2, ...}
        {label}/{uid}/frames/{0..n-1}.jpg
        {label}/{uid}/labels_rgb/{i}.png       VOC-palette colour-coded classes
        {label}/{uid}/audio.wav

    Clips are padded to ``num_frames`` (default 10): padding frames have
    ``valid_frames`` False. Annotated frames: every real frame, except v1s training
    clips, which have a label for frame 0 only (as the files AVSBench ships).
    There is no log-mel file (``log_mel_path`` None): load audio from the wav.

    Args:
        labels: which label folders to use (``'v1s'``, ``'v1m'``, ``'v2'``).
        label2idx_file: relative to ``data_root``; gives ``metainfo['classes']``.
        data_prefix keys: ``clips`` (folder holding the label folders; default root).
        Other args: see :class:`BaseAVSDataset`.
    """

    METAINFO: dict = dict(task='semantic')
    DEFAULT_ANN_FILE = 'metadata.csv'
    SYNTHAVS_SUBSET = 'avss'
    DEFAULT_PREFIX = dict(clips='')
    DEFAULT_NUM_FRAMES = 10

    def __init__(self, *args, labels: Sequence[str] = ('v1s', 'v1m', 'v2'),
                 label2idx_file: str = 'label2idx.json', **kwargs) -> None:
        bad = [lab for lab in labels if lab not in LABEL_FRAMES]
        if bad or not labels:
            raise ValueError(f'labels must be a non-empty subset of {list(LABEL_FRAMES)}, '
                             f'got {list(labels)}')
        self.labels = tuple(labels)
        self.label2idx_file = label2idx_file
        super().__init__(*args, **kwargs)

    def _load_classes(self) -> None:
        path = self.label2idx_file
        if not osp.isabs(path) and self.data_root:
            path = osp.join(self.data_root, path)
        classes = load_label2idx(path)
        self._metainfo.setdefault('classes', classes)
        self._metainfo.setdefault(
            'palette', voc_palette(min(256, len(self._metainfo['classes']))).tolist())

    def load_clip_list(self) -> list[dict]:
        self._load_classes()
        rows = read_csv_rows(self.ann_file, ('uid', 'split', 'label'))
        clips = []
        for line, row in self.split_rows(rows):
            uid, label = row['uid'].strip(), row['label'].strip()
            if label not in LABEL_FRAMES:
                raise ValueError(f"{self.row_name(line)} (clip '{uid}'): unknown label "
                                 f'{label!r}, expected one of {list(LABEL_FRAMES)}')
            if label not in self.labels:
                continue
            n = LABEL_FRAMES[label]
            n_masks = 1 if (label == 'v1s' and self.split == 'train') else n
            frames = [self.join('clips', label, uid, 'frames', f'{t}.jpg') for t in range(n)]
            masks = [self.join('clips', label, uid, 'labels_rgb', f'{t}.png')
                     if t < n_masks else None for t in range(n)]
            clips.append(self.make_clip(
                uid, label, frames, masks,
                wav_path=self.join('clips', label, uid, 'audio.wav'), log_mel_path=None,
                row=self.row_name(line)))
        return clips
