"""SynthAVS: a small synthetic dataset written in the exact on-disk layouts of AVSBench.

``make_synthavs(root, subset)`` writes one of

- ``'s4'`` (AVSBench-object single source)::

      s4_meta_data.csv                      name,start,category,split
      visual_frames/{split}/{category}/{name}/{name}_{1..5}.png
      audio_wav/{split}/{category}/{name}.wav          16 kHz mono int16, 5 s
      audio_log_mel/{split}/{category}/{name}.pkl      pickled Tensor[5, 1, 96, 64]
      gt_masks/{split}/{category}/{name}/{name}_{i}.png   0/255; train: i = 1 only

- ``'ms3'`` (AVSBench-object multi sources)::

      ms3_meta_data.csv                     video_id,split
      visual_frames/{name}/{name}.mp4_{1..5}.png
      audio_wav/{split}/{name}.wav, audio_log_mel/{split}/{name}.pkl
      gt_masks/{split}/{name}/{name}_{1..5}.png

- ``'avss'`` (AVSBench-semantic)::

      metadata.csv                          vid,uid,s_min,s_sec,a_obj,split,label
      label2idx.json                        {"background": 1, "red_disc": 2, ...}
      {label}/{uid}/frames/{0..T-1}.jpg
      {label}/{uid}/labels_rgb/{i}.png      VOC-palette colours (class c -> palette[c])
      {label}/{uid}/audio.wav

  with ``label`` one of ``v1s`` (5 frames; train: only label 0), ``v1m`` (5 frames, all
  labelled) and ``v2`` (10 frames, all labelled). As in the real ``label2idx.json``,
  the indices are 1-based (background 1); class ``c`` of the label maps is the
  ``c``-th entry (background 0).

plus ``synthavs.json`` describing the generation. The log-mel files hold
``vggish_log_mel_clip`` of the wav (AVSBench's convention: 0.96 s-hop examples) and are
pickled so that ``pickle.load`` returns a ``torch.Tensor``, like AVSBench's.

Content: see :mod:`catravs.datasets.synthavs_scene`. S4 ``category`` is the kind of the
object sounding in frame 1 (the only annotated frame of S4 training clips). The files
depend only on the arguments: the same seed gives byte-identical files.
"""
from __future__ import annotations

import csv
import json
import os
import os.path as osp
import zlib
from typing import Literal

import cv2
import mmcv
import numpy as np
import soundfile as sf
import torch
from tqdm import tqdm

from .file_io import write_tensor_pickle
from .palette import class_map_to_rgb
from .synthavs_scene import KINDS, SAMPLE_RATE, SynthClip, sample_clip

__all__ = ['make_synthavs', 'SYNTH_SPLITS', 'AVSS_LABEL_FRAMES']

SYNTH_SPLITS = ('train', 'val', 'test')
AVSS_LABEL_FRAMES = {'v1s': 5, 'v1m': 5, 'v2': 10}
_SUBSET_ID = {'s4': 1, 'ms3': 2, 'avss': 3}


def _clip_rng(seed: int, subset: str, split: str, index: int) -> np.random.Generator:
    """The clip's own generator: independent of the other clips and of write order."""
    return np.random.default_rng([seed, _SUBSET_ID[subset], SYNTH_SPLITS.index(split), index])


def _write_png(img: np.ndarray, path: str) -> None:
    """Write RGB (``[H, W, 3]``) or single-channel ``[H, W]`` uint8 as PNG."""
    data = img[..., ::-1] if img.ndim == 3 else img
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not mmcv.imwrite(np.ascontiguousarray(data), path):
        raise OSError(f'cannot write {path}')


def _write_jpg(img: np.ndarray, path: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not mmcv.imwrite(np.ascontiguousarray(img[..., ::-1]), path,
                        params=[cv2.IMWRITE_JPEG_QUALITY, 95]):
        raise OSError(f'cannot write {path}')


def _write_wav(waveform: np.ndarray, path: str) -> np.ndarray:
    """Write 16 kHz mono int16; returns the waveform as read back (float32)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    pcm = np.clip(np.round(waveform * 32768.0), -32768, 32767).astype(np.int16)
    sf.write(path, pcm, SAMPLE_RATE, subtype='PCM_16', format='WAV')
    return pcm.astype(np.float32) / 32768.0


def _write_log_mel(waveform: np.ndarray, num_examples: int, path: str) -> None:
    from .transforms.audio import vggish_log_mel_clip

    log_mel, _ = vggish_log_mel_clip(torch.from_numpy(waveform), SAMPLE_RATE, num_examples)
    os.makedirs(osp.dirname(path), exist_ok=True)
    write_tensor_pickle(log_mel.contiguous(), path)


def _write_csv(path: str, header: list[str], rows: list[list]) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(header)
        writer.writerows(rows)


def _s4_clip(root: str, clip: SynthClip, name: str, split: str, rng: np.random.Generator,
             ) -> list:
    category = KINDS[clip.kinds[clip.sounding[0][0]]].name
    for t, frame in enumerate(clip.frames, start=1):
        _write_png(frame, osp.join(root, 'visual_frames', split, category, name, f'{name}_{t}.png'))
    for t in range(1 if split == 'train' else len(clip.frames)):
        _write_png(clip.binary_mask(t),
                   osp.join(root, 'gt_masks', split, category, name, f'{name}_{t + 1}.png'))
    wav = _write_wav(clip.waveform, osp.join(root, 'audio_wav', split, category, f'{name}.wav'))
    _write_log_mel(wav, len(clip.frames),
                   osp.join(root, 'audio_log_mel', split, category, f'{name}.pkl'))
    return [name, int(rng.integers(0, 6)), category, split]


def _ms3_clip(root: str, clip: SynthClip, name: str, split: str, rng: np.random.Generator,
              ) -> list:
    for t, frame in enumerate(clip.frames, start=1):
        _write_png(frame, osp.join(root, 'visual_frames', name, f'{name}.mp4_{t}.png'))
        _write_png(clip.binary_mask(t - 1),
                   osp.join(root, 'gt_masks', split, name, f'{name}_{t}.png'))
    wav = _write_wav(clip.waveform, osp.join(root, 'audio_wav', split, f'{name}.wav'))
    _write_log_mel(wav, len(clip.frames), osp.join(root, 'audio_log_mel', split, f'{name}.pkl'))
    return [name, split]


def _avss_clip(root: str, clip: SynthClip, name: str, split: str, rng: np.random.Generator,
               label: str) -> list:
    uid = f'{name}_{int(rng.integers(0, 10))}'
    base = osp.join(root, label, uid)
    for t, frame in enumerate(clip.frames):
        _write_jpg(frame, osp.join(base, 'frames', f'{t}.jpg'))
    num_labels = 1 if (label == 'v1s' and split == 'train') else len(clip.frames)
    for t in range(num_labels):
        _write_png(class_map_to_rgb(clip.class_map(t)), osp.join(base, 'labels_rgb', f'{t}.png'))
    _write_wav(clip.waveform, osp.join(base, 'audio.wav'))
    audible = sorted({KINDS[k].name for t in range(len(clip.frames))
                      for k in clip.sounding_kinds(t)})
    return [name, uid, int(rng.integers(0, 10)), int(rng.integers(0, 50)), '_'.join(audible),
            split, label]


def make_synthavs(root: str | os.PathLike, subset: Literal['s4', 'ms3', 'avss'] = 's4',
                  num_train: int = 20, num_val: int = 5, num_test: int = 5,
                  image_size: int = 64, seed: int = 0, num_kinds: int = len(KINDS),
                  avss_labels: tuple[str, ...] = ('v1s', 'v1m', 'v2'),
                  sources: str = 'per_second', progress: bool = False) -> str:
    """Write a SynthAVS dataset of ``subset`` under ``root`` (created if needed).

    Args:
        root: output folder (the ``data_root`` of the matching dataset class).
        subset: ``'s4'``, ``'ms3'`` or ``'avss'``.
        num_train, num_val, num_test: clips per split.
        image_size: frames are ``image_size x image_size`` RGB.
        seed: everything depends only on the arguments.
        num_kinds: object kinds used (2..5); also the AVSS classes (+ background).
        avss_labels: AVSS label folders to draw clips from (uniformly).
        sources: ``'per_second'`` (the sounding object changes every second) or
            ``'per_clip'`` (the same object sounds through each clip, as in AVSBench S4).
        progress: show a tqdm progress bar.

    Returns:
        ``root`` as a string.
    """
    if subset not in _SUBSET_ID:
        raise ValueError(f"subset must be 's4', 'ms3' or 'avss', got {subset!r}")
    bad = [lab for lab in avss_labels if lab not in AVSS_LABEL_FRAMES]
    if bad or not avss_labels:
        raise ValueError(f'avss_labels must be a non-empty subset of {list(AVSS_LABEL_FRAMES)}, '
                         f'got {list(avss_labels)}')
    root = os.fspath(root)
    os.makedirs(root, exist_ok=True)
    counts = dict(train=num_train, val=num_val, test=num_test)
    jobs = [(split, i) for split in SYNTH_SPLITS for i in range(counts[split])]
    rows = []
    for split, index in tqdm(jobs, desc=f'SynthAVS {subset}', disable=not progress):
        rng = _clip_rng(seed, subset, split, index)
        name = f'syn{split[:2]}{index:05d}'
        if subset == 'avss':
            label = avss_labels[int(rng.integers(0, len(avss_labels)))]
            clip = sample_clip(rng, AVSS_LABEL_FRAMES[label], image_size,
                               max_sounding=1 if label == 'v1s' else 2, num_kinds=num_kinds,
                               sources=sources)
            rows.append(_avss_clip(root, clip, name, split, rng, label))
            continue
        clip = sample_clip(rng, 5, image_size, max_sounding=1 if subset == 's4' else 2,
                           num_kinds=num_kinds, sources=sources)
        writer = _s4_clip if subset == 's4' else _ms3_clip
        rows.append(writer(root, clip, name, split, rng))

    if subset == 's4':
        _write_csv(osp.join(root, 's4_meta_data.csv'), ['name', 'start', 'category', 'split'],
                   rows)
    elif subset == 'ms3':
        _write_csv(osp.join(root, 'ms3_meta_data.csv'), ['video_id', 'split'], rows)
    else:
        _write_csv(osp.join(root, 'metadata.csv'),
                   ['vid', 'uid', 's_min', 's_sec', 'a_obj', 'split', 'label'], rows)
        label2idx = {'background': 1}
        label2idx.update({KINDS[k].name: k + 2 for k in range(num_kinds)})
        with open(osp.join(root, 'label2idx.json'), 'w') as f:
            json.dump(label2idx, f, indent=2)
            f.write('\n')
    info = dict(generator='catravs.datasets.synthavs', subset=subset, seed=seed,
                image_size=image_size, sources=sources, counts=counts, sample_rate=SAMPLE_RATE,
                kinds=[dict(name=k.name, shape=k.shape, rgb=list(k.rgb), f0=k.f0)
                       for k in KINDS[:num_kinds]],
                checksum=zlib.crc32(json.dumps(rows).encode()))
    with open(osp.join(root, 'synthavs.json'), 'w') as f:
        json.dump(info, f, indent=2)
        f.write('\n')
    return root
