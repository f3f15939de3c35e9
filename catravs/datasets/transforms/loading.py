"""Loading transforms: frames, masks and audio of one clip.

Inputs are the ``data_info`` keys of ``docs/interfaces.md``; outputs:

- ``frames``: list of T ``uint8[H, W, 3]`` BGR (black for padding frames),
  ``ori_shape`` / ``img_shape`` ``(H, W)``;
- ``gt_masks``: ``uint8[T, H, W]``, 0/1 (binary) or class index (semantic),
  255 on every pixel of a frame without label;
- ``audio``: ``float32[T, 1, 96, 64]`` VGGish log-mel examples.
"""
from __future__ import annotations

import functools
import logging
import os
from typing import Literal

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from catravs.registry import TRANSFORMS
from catravs.structures import IGNORE_INDEX
from catravs.utils.vggish_params import VGGISH_EXAMPLE_SHAPE

from ..file_io import (
    DataFileError,
    read_binary_mask,
    read_clip_wav,
    read_color_mask,
    read_frame,
    read_log_mel,
)
from .audio import (
    VGGISH_SAMPLE_RATE,
    resample,
    samples_for_examples,
    slice_waveform,
    vggish_log_mel,
    vggish_log_mel_clip,
)
from .log_mel_cache import FRONT_END_PARAMS, cached_log_mel

__all__ = ['LoadClipFrames', 'LoadClipMasks', 'LoadClipAudio', 'silence_log_mel']


@functools.lru_cache(maxsize=1)
def silence_log_mel() -> np.ndarray:
    """``float32[1, 96, 64]``: the VGGish log-mel example of silence (``log(0.01)``)."""
    example = vggish_log_mel(np.zeros(samples_for_examples(1), np.float32), VGGISH_SAMPLE_RATE)
    out = example[0].numpy()
    out.setflags(write=False)
    return out


def _clip_id(results: dict) -> str:
    return str(results.get('clip_id', '?'))


@TRANSFORMS.register_module()
class LoadClipFrames(BaseTransform):
    """Read the T frames of a clip (``frame_paths``); padding frames (None) are black.

    Adds ``frames`` (list of ``uint8[H, W, 3]`` BGR), ``ori_shape``, ``img_shape``.
    All real frames of a clip must have the same size.

    Args:
        backend_args: mmengine file backend arguments.
    """

    def __init__(self, backend_args: dict | None = None) -> None:
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        paths = results['frame_paths']
        clip_id = _clip_id(results)
        frames: list[np.ndarray | None] = []
        shape = None
        for path in paths:
            if path is None:
                frames.append(None)
                continue
            img = read_frame(path, clip_id, self.backend_args)
            if shape is None:
                shape = img.shape
            elif img.shape != shape:
                raise DataFileError(f"frame of clip '{clip_id}' has size {img.shape[:2]}, the "
                                    f'clip\'s first frame {shape[:2]}: {path}')
            frames.append(img)
        if shape is None:
            raise ValueError(f"clip '{clip_id}' has no real frame (all frame_paths are None)")
        results['frames'] = [np.zeros(shape, np.uint8) if f is None else f for f in frames]
        results['ori_shape'] = results['img_shape'] = shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadClipMasks(BaseTransform):
    """Read the ground truth of a clip (``mask_paths``, ``annotated_frames``).

    Adds ``gt_masks`` ``uint8[T, H, W]``: frames without a label are 255 everywhere.

    Args:
        mask_type: ``'binary'`` (S4/MS3: a pixel > 0 is foreground, 1) or
            ``'semantic'`` (AVSS: VOC-palette colours -> class index).
        strict: binary masks must hold only 0/255 (or 0/1); semantic labels only
            palette colours of the first ``num_classes`` classes.
        num_classes: semantic only: number of classes incl. background (default 256).
        backend_args: mmengine file backend arguments.
    """

    def __init__(self, mask_type: Literal['binary', 'semantic'] = 'binary', strict: bool = True,
                 num_classes: int | None = None, backend_args: dict | None = None) -> None:
        if mask_type not in ('binary', 'semantic'):
            raise ValueError(f"mask_type must be 'binary' or 'semantic', got {mask_type!r}")
        self.mask_type = mask_type
        self.strict = strict
        self.num_classes = num_classes or 256
        self.backend_args = backend_args

    def _read(self, path: str, clip_id: str) -> np.ndarray:
        if self.mask_type == 'binary':
            return read_binary_mask(path, clip_id, self.strict, self.backend_args)
        return read_color_mask(path, clip_id, self.num_classes, self.strict, self.backend_args)

    def transform(self, results: dict) -> dict:
        clip_id = _clip_id(results)
        paths = results['mask_paths']
        annotated = results.get('annotated_frames', [p is not None for p in paths])
        shape = results.get('ori_shape')
        masks: list[np.ndarray | None] = []
        for path, ann in zip(paths, annotated):
            if not ann:
                masks.append(None)
                continue
            if path is None:
                raise ValueError(f"clip '{clip_id}': a frame is marked annotated but has no "
                                 'mask path')
            mask = self._read(path, clip_id)
            if shape is None:
                shape = mask.shape
            elif tuple(mask.shape) != tuple(shape[:2]):
                raise DataFileError(f"mask of clip '{clip_id}' has size {mask.shape}, the "
                                    f'frames {tuple(shape[:2])}: {path}')
            masks.append(mask)
        if shape is None:
            raise ValueError(f"clip '{clip_id}': no annotated frame and no ori_shape; put "
                             'LoadClipFrames before LoadClipMasks')
        h, w = shape[:2]
        results['gt_masks'] = np.stack(
            [np.full((h, w), IGNORE_INDEX, np.uint8) if m is None else m for m in masks])
        return results


@TRANSFORMS.register_module()
class LoadClipAudio(BaseTransform):
    """Load the clip's audio as VGGish log-mel examples ``audio: float32[T, 1, 96, 64]``.

    Padding frames (``valid_frames`` False) and ``audio_silence`` clips get the
    log-mel of silence. Audio shorter than the clip's real frames is padded with
    silence and a warning is logged.

    Args:
        source: ``'log_mel'`` reads ``log_mel_path`` (AVSBench's ``.pkl``, rows cut or
            padded to T); ``'wav'`` decodes ``wav_path`` (mono, resampled to 16 kHz),
            or takes ``results['waveform']`` when the clip has one: a
            ``(float32[S] mono, sample_rate)`` pair already in memory (inference
            on a video's soundtrack), treated exactly as the same samples in a wav.
        wav_slicing: ``'per_second'``: frame t gets the example of the first 0.975 s
            of second t (``[t, t + 0.975)`` s; 0.975 s = 15600 samples is the shortest
            audio that makes one 96-frame example, a 0.96 s slice makes none);
            ``'clip'``: AVSBench's whole-clip examples (``[0.96 t, 0.96 t + 0.975)`` s),
            identical to what AVSBench's ``.pkl`` files hold.
        cache_dir: ``source='wav'`` only: keep each clip's log-mel in this folder
            (:mod:`.log_mel_cache`: keyed by the wav's path, mtime and size and the
            front-end settings; atomic writes, safe with several workers). None: off.
    """

    def __init__(self, source: Literal['log_mel', 'wav'] = 'log_mel',
                 wav_slicing: Literal['per_second', 'clip'] = 'per_second',
                 backend_args: dict | None = None, cache_dir: str | None = None) -> None:
        if source not in ('log_mel', 'wav'):
            raise ValueError(f"source must be 'log_mel' or 'wav', got {source!r}")
        if wav_slicing not in ('per_second', 'clip'):
            raise ValueError(f"wav_slicing must be 'per_second' or 'clip', got {wav_slicing!r}")
        self.source = source
        self.wav_slicing = wav_slicing
        self.backend_args = backend_args
        self.cache_dir = cache_dir

    def _from_log_mel(self, results: dict, T: int, n_valid: int) -> np.ndarray:
        path = results.get('log_mel_path')
        if path is None:
            raise FileNotFoundError(f"clip '{_clip_id(results)}' has no log-mel file "
                                    "(log_mel_path is None); use LoadClipAudio(source='wav')")
        rows = read_log_mel(path, _clip_id(results), self.backend_args)
        if rows.shape[0] < n_valid:
            print_log(f"log-mel file of clip '{_clip_id(results)}' holds {rows.shape[0]} "
                      f'examples for {n_valid} frames; padded with silence: {path}',
                      logger='current', level=logging.WARNING)
        out = np.broadcast_to(silence_log_mel(), (T, *VGGISH_EXAMPLE_SHAPE)).copy()
        out[:min(T, rows.shape[0])] = rows[:T]
        return out

    def _wav_log_mel(self, path: str, clip_id: str, T: int) -> tuple[np.ndarray, int]:
        """``(float32[T, 1, 96, 64], samples of the wav at 16 kHz)``."""
        return self._waveform_log_mel(*read_clip_wav(path, clip_id), T)

    def _waveform_log_mel(self, waveform: np.ndarray, sample_rate: int,
                          T: int) -> tuple[np.ndarray, int]:
        """``(float32[T, 1, 96, 64], samples at 16 kHz)`` of a mono ``float32[S]``."""
        if sample_rate != VGGISH_SAMPLE_RATE:
            waveform = resample(waveform, sample_rate, VGGISH_SAMPLE_RATE)
        if self.wav_slicing == 'per_second':
            one = samples_for_examples(1)
            slices = slice_waveform(waveform, VGGISH_SAMPLE_RATE, T,
                                    slice_seconds=one / VGGISH_SAMPLE_RATE, hop_seconds=1.0)
            out = np.concatenate([vggish_log_mel(s, VGGISH_SAMPLE_RATE).numpy() for s in slices])
        else:
            out = vggish_log_mel_clip(waveform, VGGISH_SAMPLE_RATE, T)[0].numpy()
        return out.astype(np.float32), int(waveform.shape[0])

    def _from_wav(self, results: dict, T: int, n_valid: int) -> np.ndarray:
        path, clip_id = results.get('wav_path'), _clip_id(results)
        in_memory = results.get('waveform')
        if in_memory is not None:
            waveform, sample_rate = in_memory
            out, num_samples = self._waveform_log_mel(np.asarray(waveform, np.float32),
                                                      int(sample_rate), T)
            path = 'the waveform given in memory'
        elif self.cache_dir is not None and path is not None and os.path.isfile(path):
            params = dict(front_end=FRONT_END_PARAMS, num_frames=T, slicing=self.wav_slicing)
            out, num_samples = cached_log_mel(self.cache_dir, path, params,
                                              lambda: self._wav_log_mel(path, clip_id, T))
        else:
            out, num_samples = self._wav_log_mel(path, clip_id, T)
        one = samples_for_examples(1)
        needed = ((n_valid - 1) * VGGISH_SAMPLE_RATE + one if self.wav_slicing == 'per_second'
                  else samples_for_examples(n_valid))
        if num_samples < needed:
            rate = VGGISH_SAMPLE_RATE
            print_log(f"wav of clip '{clip_id}' is {num_samples / rate:.3f} s, "
                      f'{n_valid} frames need {needed / rate:.3f} s; padded with silence: '
                      f'{path}', logger='current', level=logging.WARNING)
        return out.copy()

    def transform(self, results: dict) -> dict:
        T = int(results.get('num_frames', len(results['frame_paths'])))
        valid = list(results.get('valid_frames', [True] * T))
        n_valid = int(sum(valid))
        if results.get('audio_silence', False):
            audio = np.broadcast_to(silence_log_mel(), (T, *VGGISH_EXAMPLE_SHAPE)).copy()
        elif self.source == 'log_mel':
            audio = self._from_log_mel(results, T, n_valid)
        else:
            audio = self._from_wav(results, T, n_valid)
        audio[~np.asarray(valid, dtype=bool)] = silence_log_mel()
        results['audio'] = np.ascontiguousarray(audio, dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(source={self.source!r}, wav_slicing={self.wav_slicing!r})'
