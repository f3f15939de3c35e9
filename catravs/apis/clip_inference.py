"""``inference_model``: segment the sounding objects of frames (or a video) and their audio."""
from __future__ import annotations

import logging
import os
import os.path as osp
from collections.abc import Sequence
from typing import Literal, Union

import numpy as np
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from catravs.registry import SCOPE
from catravs.structures import AVSDataSample

__all__ = ['inference_model', 'test_pipeline_of', 'FramesFromArrays']

FrameInput = Union[str, os.PathLike, Sequence[Union[str, os.PathLike, np.ndarray]]]
AudioInput = Union[str, os.PathLike, tuple[np.ndarray, int], None]


def _type_name(step: dict) -> str:
    kind = step.get('type')
    return kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))


def test_pipeline_of(cfg: Config, from_arrays: bool) -> tuple[int, list[dict]]:
    """``(T, pipeline)``: the config's test pipeline, set to read frames and a waveform.

    The geometry, the packing and the VGGish front end stay those of ``tools/test.py``;
    ``LoadClipMasks`` is dropped (no labels); ``LoadClipAudio(source='log_mel')``
    becomes ``LoadClipAudio(source='wav', wav_slicing='clip')`` (which takes the
    clip's ``waveform`` from memory), which computes the
    log-mel examples exactly as AVSBench's (and SynthAVS's) ``.pkl`` files hold them;
    with ``from_arrays``, ``LoadClipFrames`` becomes :class:`FramesFromArrays`.
    """
    loader = cfg.get('test_dataloader') or {}
    dataset = loader.get('dataset') or {}
    steps = dataset.get('pipeline')
    if not steps:
        raise KeyError(f'config {cfg.filename}: test_dataloader.dataset.pipeline is missing; '
                       'inference uses the test pipeline')
    num_frames = dataset.get('num_frames')
    if num_frames is None:
        from catravs.registry import DATASETS
        cls = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'), str) \
            else dataset.get('type')
        num_frames = getattr(cls, 'DEFAULT_NUM_FRAMES', 5)
    out: list[dict] = []
    for step in steps:
        step = dict(step)
        name = _type_name(step)
        if name == 'LoadClipMasks':
            continue
        if name == 'LoadClipFrames' and from_arrays:
            step = dict(type=FramesFromArrays)
        elif name == 'LoadClipAudio':
            if step.get('source', 'log_mel') == 'log_mel':
                step.update(source='wav', wav_slicing='clip')
        out.append(step)
    if 'LoadClipAudio' not in [_type_name(s) for s in out]:
        raise KeyError(f'config {cfg.filename}: the test pipeline has no LoadClipAudio; '
                       'inference computes the audio input from a waveform')
    return int(num_frames), out


class FramesFromArrays:
    """``LoadClipFrames`` for frames already in memory (``frame_arrays``: T BGR arrays or None)."""

    def __call__(self, results: dict) -> dict:
        arrays = results.pop('frame_arrays')
        shape = next(a.shape for a in arrays if a is not None)
        results['frames'] = [np.zeros(shape, np.uint8) if a is None else a for a in arrays]
        results['ori_shape'] = results['img_shape'] = shape[:2]
        return results


def _as_frames(frames: FrameInput, channel_order: str) -> tuple[list, bool, str | None]:
    """``(frames, are_arrays, video_path)``; arrays become contiguous BGR ``uint8``."""
    if isinstance(frames, (str, os.PathLike)):
        from .video_io import VideoReadError, iter_sampled_frames
        video = os.fspath(frames)
        images = [s.image for s in iter_sampled_frames(video)]
        if not images:
            raise VideoReadError(f'video {video} is shorter than one second: no frame to '
                                 'sample (one frame per second of audio)')
        return images, True, video
    frames = list(frames)
    if not frames:
        raise ValueError('frames is empty: give a video path or a list of images')
    if all(isinstance(f, np.ndarray) for f in frames):
        shape = frames[0].shape
        for i, f in enumerate(frames):
            if f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3 or f.shape != shape:
                raise ValueError(f'frame {i}: expected uint8[H, W, 3] like frame 0 {shape}, '
                                 f'got {f.dtype}{list(f.shape)}')
        if channel_order == 'rgb':
            frames = [np.ascontiguousarray(f[..., ::-1]) for f in frames]
        return frames, True, None
    if all(isinstance(f, (str, os.PathLike)) for f in frames):
        missing = [os.fspath(f) for f in frames if not osp.isfile(f)]
        if missing:
            raise FileNotFoundError(f'frame file not found: {missing[0]}')
        return [os.fspath(f) for f in frames], False, None
    raise TypeError('frames must be a video path, or a list of image paths or of uint8 arrays '
                    '(not a mix)')


def _as_waveform(audio: AudioInput, video: str | None) -> tuple[np.ndarray, int]:
    if audio is None:
        if video is None:
            raise ValueError('audio=None takes the soundtrack of a video; frames given as '
                             'images need audio=WAV_PATH or audio=(waveform, sample_rate)')
        from .video_io import read_soundtrack
        return read_soundtrack(video)
    if isinstance(audio, (str, os.PathLike)):
        from catravs.datasets.file_io import read_clip_wav
        return read_clip_wav(os.fspath(audio))
    waveform, sample_rate = audio
    wav = np.asarray(waveform)
    if wav.dtype == np.int16:
        wav = wav.astype(np.float32) / 32768.0
    if wav.ndim == 2:  # [S, C] (soundfile's layout): mix down
        wav = wav.mean(axis=1)
    if wav.ndim != 1 or int(sample_rate) <= 0:
        raise ValueError(f'audio must be (waveform[S] or [S, C], sample_rate > 0), got shape '
                         f'{wav.shape} at {sample_rate} Hz')
    return wav.astype(np.float32), int(sample_rate)


def inference_model(model: nn.Module, frames: FrameInput, audio: AudioInput = None, *,
                    channel_order: Literal['bgr', 'rgb'] = 'bgr', batch_size: int = 1,
                    first_clip: int = 0, start_seconds: float = 0.0) -> list[AVSDataSample]:
    """Segment the sounding objects, with the config's test pipeline.

    The frames are cut into clips of the config's T frames, the last one padded as
    the datasets pad (black frames, silence, ``valid_frames`` False); clip ``c``
    gets the audio of seconds ``[c T, (c + 1) T)`` (one frame per second, as
    AVSBench pairs them).

    Args:
        model: from :func:`catravs.apis.init_model` (``model.cfg`` set); it runs on
            its own device (CPU or CUDA).
        frames: a video path (one frame per second is sampled, the last frame of
            each second, as AVSBench does), or a list of image paths, or a list of
            ``uint8[H, W, 3]`` arrays of equal size.
        audio: a wav path, ``(waveform float[S] or int16[S] or [S, C], sample_rate)``,
            or None for the soundtrack of the video ``frames``.
        channel_order: of array frames: ``'bgr'`` (OpenCV / mmcv) or ``'rgb'`` (PIL).
        batch_size: clips per forward pass.
        first_clip, start_seconds: the index of the first clip and the time of its
            first frame in the whole video, when a long video is given window by
            window (``tools/video_demo.py``): clip ids and messages use them.

    Returns:
        One :class:`AVSDataSample` per clip, on the CPU: ``pred_masks``
        ``LongTensor[T, H, W]`` at the frames' original size (0/1 for binary
        models, class indices for semantic ones), ``seg_logits`` (mask logits
        ``[T, H, W]``, or class scores ``[T, K+1, H, W]``), and the metainfo
        (``valid_frames``, ``frame_paths``, ``ori_shape``, ...).
    """
    if not hasattr(model, 'cfg'):
        raise AttributeError('model has no .cfg: build it with catravs.apis.init_model')
    if channel_order not in ('bgr', 'rgb'):
        raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    images, are_arrays, video = _as_frames(frames, channel_order)
    waveform, sample_rate = _as_waveform(audio, video)
    num_frames, steps = test_pipeline_of(model.cfg, are_arrays)
    scope = model.cfg.get('default_scope', SCOPE)
    with DefaultScope.overwrite_default_scope(scope):
        pipeline = Compose(steps)
    name = osp.splitext(osp.basename(video))[0] if video else 'clip'
    data = []
    for c, begin in enumerate(range(0, len(images), num_frames)):
        real = images[begin:begin + num_frames]
        padded = real + [None] * (num_frames - len(real))
        clip_id = f'{name}_{first_clip + c}'
        info = dict(clip_id=clip_id, category='', split='test', num_frames=num_frames,
                    frame_paths=[None] * num_frames if are_arrays else padded,
                    mask_paths=[None] * num_frames,
                    valid_frames=[f is not None for f in padded],
                    annotated_frames=[False] * num_frames, wav_path=None,
                    log_mel_path=None, audio_silence=False, audio_clip_id=clip_id,
                    sample_idx=first_clip + c)
        if are_arrays:
            info['frame_arrays'] = padded
        chunk = waveform[begin * sample_rate:(begin + num_frames) * sample_rate]
        if chunk.size == 0:
            start = start_seconds + begin
            print_log(f'clip {first_clip + c} (seconds {start:g}-{start + len(real):g}): the '
                      'audio ends before it; it gets silence', logger='current',
                      level=logging.WARNING)
            info['audio_silence'] = True
        else:  # LoadClipAudio takes the samples as it would read them from a wav
            info['waveform'] = (chunk, sample_rate)
        data.append(pipeline(info))
    model.eval()
    results: list[AVSDataSample] = []
    import torch
    with torch.no_grad():
        for i in range(0, len(data), max(1, batch_size)):
            results += [s.cpu() for s in model.test_step(pseudo_collate(data[i:i + batch_size]))]
    return results
