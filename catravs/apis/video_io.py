"""Videos through PyAV: frames sampled the AVSBench way, the soundtrack as a stream, mp4 out.

AVSBench annotates "the last sampled frame of each one-second clip" and pairs it with
that second of audio. :func:`iter_sampled_frames` does the same on any video FFmpeg
reads: for second ``k`` it yields the last frame shown before ``k + 1`` s. With
``passes=N`` it also yields, for ``j = 1 .. N-1``, the last frame before
``k + 1 + j / N`` s: pass ``j`` is the AVSBench sampling of the video started ``j / N``
seconds later. Frames and audio are decoded as streams (memory does not grow with the
video's length). PyAV is an optional dependency (``pip install -e '.[video]'``).
"""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ['AV_INSTALL_HINT', 'VideoReadError', 'NoSoundtrackError', 'import_av',
           'open_video', 'SampledFrame', 'iter_sampled_frames', 'SoundtrackReader',
           'read_soundtrack', 'VideoWriter']

AV_INSTALL_HINT = ("reading videos needs PyAV, an optional dependency of catravs: "
                   "pip install av  (or: pip install -e '.[video]')")


class VideoReadError(ValueError):
    """A video that cannot be opened or decoded, or that is too short."""


class NoSoundtrackError(VideoReadError):
    """A video without an audio stream."""


def import_av():
    """``import av`` with a message saying how to install it."""
    try:
        import av
    except ImportError as err:
        raise ImportError(f'{AV_INSTALL_HINT} ({err})') from err
    return av


def open_video(path: str | os.PathLike):
    """Open a media file with PyAV; errors name the file."""
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'video file not found: {path}')
    av = import_av()
    try:
        return av.open(path)
    except (av.FFmpegError, UnicodeDecodeError) as err:
        raise VideoReadError(f'cannot read video file {path}: {err}') from err


@dataclass
class SampledFrame:
    """One sampled frame: ``second`` k of pass ``phase`` j, shown at ``time`` s."""
    second: int
    phase: int
    time: float
    image: np.ndarray  # uint8[H, W, 3] BGR


def _frame_duration(stream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate
    return Fraction(1, 1) / Fraction(rate) if rate else Fraction(0)


def iter_sampled_frames(path: str | os.PathLike, passes: int = 1) -> Iterator[SampledFrame]:
    """Yield the sampled frames of a video in time order (see the module docstring).

    Times are measured from the first frame. A second is sampled only when the video
    covers it entirely (to half a frame). Raises :class:`VideoReadError` for a file
    without video or that fails to decode.
    """
    if passes < 1:
        raise ValueError(f'passes must be >= 1, got {passes}')
    path = os.fspath(path)
    av = import_av()
    with open_video(path) as container:
        if not container.streams.video:
            raise VideoReadError(f'{path} holds no video stream')
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        duration = _frame_duration(stream)
        index = 0  # targets in time order: end of window = (index + passes) / passes
        start = prev = prev_time = None
        try:
            for num, frame in enumerate(container.decode(stream)):
                if frame.pts is not None:
                    time = Fraction(frame.pts) * Fraction(frame.time_base)
                else:
                    time = num * duration
                if start is None:
                    start = time
                time -= start
                while time >= Fraction(index + passes, passes):
                    chosen, chosen_time = (prev, prev_time) if prev is not None else (frame, time)
                    yield SampledFrame(index // passes, index % passes, float(chosen_time),
                                       chosen.to_ndarray(format='bgr24'))
                    index += 1
                prev, prev_time = frame, time
        except av.FFmpegError as err:
            raise VideoReadError(f'cannot decode video file {path}: {err}') from err
        if prev is None:
            raise VideoReadError(f'{path} holds no decodable video frame')
        while prev_time + duration * Fraction(3, 2) >= Fraction(index + passes, passes):
            yield SampledFrame(index // passes, index % passes, float(prev_time),
                               prev.to_ndarray(format='bgr24'))
            index += 1


class SoundtrackReader:
    """The first audio stream of a file, mono ``float32`` at its own rate, read on demand.

    ``read(start, stop)`` returns samples ``[start, stop)`` (fewer at the end of the
    stream); samples before the last ``discard_before`` are dropped from memory.
    Channels are averaged (as :func:`catravs.datasets.transforms.load_wav` does) and
    integer PCM is scaled to [-1, 1).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self._av = import_av()
        self._container = open_video(self.path)
        if not self._container.streams.audio:
            self._container.close()
            raise NoSoundtrackError(f'{self.path} has no soundtrack (no audio stream)')
        stream = self._container.streams.audio[0]
        self.sample_rate = int(stream.rate or stream.codec_context.sample_rate)
        self._frames = self._container.decode(stream)
        self._resampler = None
        self._chunks: list[np.ndarray] = []
        self._buf_start = 0   # sample index of the first kept sample
        self._buf_len = 0
        self._eof = False

    def _decode_one(self) -> bool:
        try:
            frame = next(self._frames)
        except StopIteration:
            self._eof = True
            return False
        except self._av.FFmpegError as err:
            raise VideoReadError(f'cannot decode the soundtrack of {self.path}: {err}') from err
        if self._resampler is None:
            self._resampler = self._av.AudioResampler(format='fltp', layout=frame.layout,
                                                      rate=frame.sample_rate)
        for out in self._resampler.resample(frame):
            mono = out.to_ndarray().astype(np.float32).mean(axis=0, dtype=np.float64)
            self._chunks.append(mono.astype(np.float32))
            self._buf_len += mono.shape[0]
        return True

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as ``float32[S]`` (``start`` >= the discarded part)."""
        if start < self._buf_start:
            raise ValueError(f'samples before {self._buf_start} were discarded')
        while self._buf_start + self._buf_len < stop and not self._eof:
            self._decode_one()
        buf = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        self._chunks = [buf]
        return buf[max(0, start - self._buf_start):max(0, stop - self._buf_start)].copy()

    def discard_before(self, sample: int) -> None:
        drop = min(max(0, sample - self._buf_start), self._buf_len)
        if drop:
            buf = np.concatenate(self._chunks)[drop:]
            self._chunks, self._buf_start, self._buf_len = [buf], self._buf_start + drop, len(buf)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> SoundtrackReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_soundtrack(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """The whole soundtrack of a file: ``(float32[S] mono, sample_rate)``."""
    with SoundtrackReader(path) as reader:
        while not reader._eof:
            reader._decode_one()
        return reader.read(0, reader._buf_len), reader.sample_rate


class VideoWriter:
    """Write an mp4 (H.264, or MPEG-4 part 2 where libx264 is absent) frame by frame,
    with the soundtrack of another file re-encoded to AAC alongside.

    Frames are RGB ``uint8[H, W, 3]`` at ``fps`` frames per second; ``write(image, index)``
    shows ``image`` from ``index / fps`` seconds. Odd sizes are padded by one pixel
    (the 4:2:0 encoders need even sizes). Audio is muxed as the video advances, so
    nothing is held in memory for the length of the file.
    """

    def __init__(self, path: str, width: int, height: int, fps: int,
                 audio_from: str | None = None) -> None:
        av = import_av()
        self._av = av
        self.container = av.open(path, 'w')
        codec = 'libx264' if 'libx264' in av.codecs_available else 'mpeg4'
        self.video = self.container.add_stream(codec, rate=int(fps))
        self.video.width, self.video.height = width + width % 2, height + height % 2
        self.video.pix_fmt = 'yuv420p'
        self.fps = int(fps)
        self._audio_in = self._audio_frames = self.audio = None
        self._audio_done = True
        if audio_from is not None:
            self._audio_in = open_video(audio_from)
            stream = self._audio_in.streams.audio[0]
            self.audio = self.container.add_stream('aac', rate=int(stream.rate))
            self._audio_frames = self._audio_in.decode(stream)
            self._audio_done = False
        self._audio_time = 0.0

    def _mux_audio_until(self, seconds: float | None) -> None:
        while not self._audio_done and (seconds is None or self._audio_time < seconds):
            frame = next(self._audio_frames, None)
            if frame is None:
                self._audio_done = True
                break
            self._audio_time += frame.samples / frame.sample_rate
            frame.pts = None
            self.container.mux(self.audio.encode(frame))

    def write(self, image: np.ndarray, index: int) -> None:
        h, w = image.shape[:2]
        if (h, w) != (self.video.height, self.video.width):
            image = np.pad(image, ((0, self.video.height - h), (0, self.video.width - w), (0, 0)))
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='rgb24')
        frame.pts = index
        frame.time_base = Fraction(1, self.fps)
        self.container.mux(self.video.encode(frame))
        self._mux_audio_until((index + 1) / self.fps)

    def close(self) -> None:
        self.container.mux(self.video.encode(None))
        if self.audio is not None:
            self._mux_audio_until(None)
            self.container.mux(self.audio.encode(None))
            self._audio_in.close()
        self.container.close()
