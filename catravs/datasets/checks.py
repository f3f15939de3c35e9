"""Check every file that an AVS dataset's csv names: exists, decodes, size, values, length.

Used by ``tools/misc/check_dataset.py``; importable for tests and scripts::

    report = check_dataset('data/synthavs_s4', 's4')
    for problem in report.problems:
        print(problem)
"""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from tqdm import tqdm

from .avss_dataset import AVSSDataset
from .base_avs_dataset import SPLITS, BaseAVSDataset
from .file_io import (
    DataFileError,
    read_binary_mask,
    read_clip_wav,
    read_color_mask,
    read_frame,
    read_log_mel,
)
from .ms3_dataset import MS3Dataset
from .s4_dataset import S4Dataset

__all__ = ['Problem', 'CheckReport', 'check_dataset', 'check_clip', 'DATASET_CLASSES']

DATASET_CLASSES: dict[str, type[BaseAVSDataset]] = dict(s4=S4Dataset, ms3=MS3Dataset,
                                                        avss=AVSSDataset)
_ERRORS = (FileNotFoundError, DataFileError, OSError, ValueError)


@dataclass(frozen=True)
class Problem:
    """One problem with one file (or folder) of one clip."""

    path: str
    clip_id: str
    message: str

    def __str__(self) -> str:
        return f'[{self.clip_id}] {self.path}: {self.message}'


@dataclass
class CheckReport:
    """What :func:`check_dataset` found."""

    num_clips: int = 0
    num_files: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = (f'checked {self.num_clips} clips, {self.num_files} files: '
                f'{len(self.problems)} problem(s)')
        return '\n'.join([head, *(f'  {p}' for p in self.problems)])


def _try(problems: list[Problem], path: str, clip_id: str, fn, *args):
    """Run a reader; record its error as a problem and return None."""
    try:
        return fn(path, clip_id, *args)
    except _ERRORS as err:
        problems.append(Problem(str(path), clip_id, str(err)))
        return None


def check_clip(clip: dict, mask_type: Literal['binary', 'semantic'], num_classes: int = 256,
               image_size: tuple[int, int] | None = None, check_audio: bool = True,
               ) -> tuple[list[Problem], int]:
    """Problems of one clip record (a dataset's ``data_info``) and the files checked."""
    clip_id, problems, num_files = clip['clip_id'], [], 0
    real = [p for p in clip['frame_paths'] if p is not None]
    folder = osp.dirname(real[0]) if real else ''
    if real and not osp.isdir(folder):
        return [Problem(folder, clip_id, 'frame folder not found (csv row points to nothing)')], 1
    shape = image_size
    for path in real:
        num_files += 1
        img = _try(problems, path, clip_id, read_frame)
        if img is None:
            continue
        if shape is None:
            shape = img.shape[:2]
        elif img.shape[:2] != tuple(shape):
            problems.append(Problem(path, clip_id, f'frame size {img.shape[:2]}, expected '
                                                   f'{tuple(shape)}'))
    for path, annotated in zip(clip['mask_paths'], clip['annotated_frames']):
        if not annotated or path is None:
            continue
        num_files += 1
        if mask_type == 'binary':
            mask = _try(problems, path, clip_id, read_binary_mask, True)
        else:
            mask = _try(problems, path, clip_id, read_color_mask, num_classes, True)
        if mask is not None and shape is not None and mask.shape != tuple(shape):
            problems.append(Problem(path, clip_id, f'mask size {mask.shape}, frames '
                                                   f'{tuple(shape)}'))
    if check_audio:
        num_files += _check_audio(clip, len(real), problems)
    return problems, num_files


def _check_audio(clip: dict, n_frames: int, problems: list[Problem]) -> int:
    clip_id, num_files = clip['clip_id'], 0
    if clip.get('wav_path'):
        num_files += 1
        audio = _try(problems, clip['wav_path'], clip_id, read_clip_wav)
        if audio is not None:
            waveform, sample_rate = audio
            needed = (n_frames - 1) + 0.975   # per-second slice of the last frame
            if waveform.shape[0] < needed * sample_rate:
                problems.append(Problem(
                    clip['wav_path'], clip_id,
                    f'audio is {waveform.shape[0] / sample_rate:.3f} s, {n_frames} frames need '
                    f'{needed:.3f} s'))
    if clip.get('log_mel_path'):
        num_files += 1
        log_mel = _try(problems, clip['log_mel_path'], clip_id, read_log_mel)
        if log_mel is not None and log_mel.shape[0] < n_frames:
            problems.append(Problem(clip['log_mel_path'], clip_id,
                                    f'log-mel has {log_mel.shape[0]} examples, the clip '
                                    f'{n_frames} frames'))
    return num_files


def check_dataset(root: str, subset: Literal['s4', 'ms3', 'avss'],
                  splits: Sequence[str] = SPLITS, image_size: tuple[int, int] | None = None,
                  check_audio: bool = True, progress: bool = False,
                  **dataset_kwargs) -> CheckReport:
    """Check every clip of ``splits`` of the dataset at ``root``.

    Args:
        root: the dataset's ``data_root``.
        subset: ``'s4'``, ``'ms3'`` or ``'avss'``.
        splits: csv splits to check.
        image_size: expected ``(H, W)`` of every frame (default: each clip's first frame).
        check_audio: also read the wav and log-mel files.
        progress: tqdm progress bar.
        dataset_kwargs: passed to the dataset class (``ann_file``, ``data_prefix``, ...).
    """
    if subset not in DATASET_CLASSES:
        raise ValueError(f'subset must be one of {list(DATASET_CLASSES)}, got {subset!r}')
    cls = DATASET_CLASSES[subset]
    clips, num_classes = [], 256
    dataset_kwargs.setdefault('num_frames', 10 if subset == 'avss' else 5)
    for split in splits:
        dataset = cls(data_root=root, split=split, check_files=False, serialize_data=False,
                      **dataset_kwargs)
        clips.extend(dataset.data_list)
        num_classes = len(dataset.metainfo.get('classes', ())) or 256
    report = CheckReport(num_clips=len(clips))
    mask_type = 'semantic' if subset == 'avss' else 'binary'
    for clip in tqdm(clips, desc=f'checking {subset}', disable=not progress):
        problems, num_files = check_clip(clip, mask_type, num_classes, image_size, check_audio)
        report.problems.extend(problems)
        report.num_files += num_files
    return report
