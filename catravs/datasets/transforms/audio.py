"""Audio helpers: read a wav, resample, cut it into per-frame slices, VGGish log-mel.

Pure functions (no registry): the loading transforms call them.

:func:`vggish_log_mel` reproduces the input pipeline of VGGish (tensorflow
``models/research/audioset/vggish/vggish_input.py`` + ``mel_features.py``, the
same algorithm as the torchvggish port): 16 kHz mono, 25 ms (400 samples)
periodic-Hann windows every 10 ms (160 samples), magnitude of a 512-point rfft,
64 HTK mel bands between 125 and 7500 Hz built with VGGish's own mel matrix,
``log(mel + 0.01)``, and non-overlapping 96-frame (0.96 s) examples. Frames and
examples that do not fit entirely are dropped, as ``mel_features.frame`` does.

Note on lengths: one example needs ``400 + 95 * 160 = 15600`` samples (0.975 s at
16 kHz), not 0.96 s, because of the 25 ms analysis window. A 0.96 s slice on its
own therefore gives *no* example: compute the log-mel of the whole clip
(:func:`vggish_log_mel_clip`) as AVSBench does, where example ``t`` covers
``[0.96 t, 0.96 t + 0.975)`` seconds.
"""
from __future__ import annotations

import functools
import os
from typing import Literal, overload

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

__all__ = [
    'AudioFileError', 'load_wav', 'resample', 'slice_waveform', 'vggish_log_mel',
    'vggish_log_mel_clip', 'vggish_mel_matrix', 'VGGISH_SAMPLE_RATE', 'VGGISH_LOG_OFFSET',
    'samples_for_examples',
]

from catravs.utils.vggish_params import (  # noqa: F401 - re-exported
    VGGISH_EXAMPLE_FRAMES,
    VGGISH_EXAMPLE_SHAPE,
    VGGISH_FFT,
    VGGISH_HOP,
    VGGISH_LOG_OFFSET,
    VGGISH_MEL_BINS,
    VGGISH_MEL_MAX_HZ,
    VGGISH_MEL_MIN_HZ,
    VGGISH_SAMPLE_RATE,
    VGGISH_WINDOW,
)

# torchaudio's Kaiser-windowed sinc with these settings approximates resampy's
# 'kaiser_best' filter, which vggish_input.py uses.
_KAISER_BEST = dict(lowpass_filter_width=64, rolloff=0.9475937167399596,
                    resampling_method='sinc_interp_kaiser', beta=14.769656459379492)

class AudioFileError(ValueError):
    """An audio file that cannot be decoded or holds no samples."""


def load_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file with soundfile and mix it down to mono.

    Integer PCM is scaled to [-1, 1) the way soundfile does (int16 / 32768,
    identical to VGGish's ``wav_data / 32768.0``).

    Returns:
        ``(waveform float32[S], sample_rate)``.

    Raises:
        FileNotFoundError: the file does not exist.
        AudioFileError: the file cannot be decoded or has zero samples.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'audio file not found: {path}')
    try:
        data, sample_rate = sf.read(path, dtype='float32', always_2d=True)
    except Exception as err:  # soundfile raises several error types
        raise AudioFileError(f'cannot read audio file {path}: {err}') from err
    if data.shape[0] == 0:
        raise AudioFileError(f'audio file {path} holds no samples (zero length)')
    mono = data.mean(axis=1, dtype=np.float64).astype(np.float32)
    return mono, int(sample_rate)


def _to_float_tensor(waveform: np.ndarray | torch.Tensor,
                     dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """1-D float tensor; int16 input is scaled by 1 / 32768 as VGGish does."""
    wav = torch.from_numpy(np.asarray(waveform)) if not torch.is_tensor(waveform) \
        else waveform.detach().cpu()
    if wav.dtype == torch.int16:
        wav = wav.to(torch.float64) / 32768.0
    elif not wav.is_floating_point():
        raise TypeError(f'waveform must be int16 or floating point, got {wav.dtype}')
    if wav.dim() != 1:
        raise ValueError(f'waveform must be mono 1-D [S], got shape {tuple(wav.shape)}; '
                         'mix channels down first (load_wav does)')
    return wav.to(dtype)


def resample(waveform: np.ndarray | torch.Tensor, orig_sr: int,
             new_sr: int = VGGISH_SAMPLE_RATE) -> np.ndarray | torch.Tensor:
    """Resample a mono waveform with ``torchaudio.functional.resample``.

    Uses a Kaiser-windowed sinc (64 zero crossings) close to resampy's
    ``kaiser_best``, the resampler of the reference VGGish code.

    Args:
        waveform: ``[S]`` float, or int16 (scaled by 1 / 32768).
        orig_sr, new_sr: sample rates in Hz.

    Returns:
        ``[S']`` float32 ndarray for ndarray input, a float tensor otherwise
        (float64 input stays float64).
    """
    as_numpy = not torch.is_tensor(waveform)
    out_dtype = torch.float64 if (not as_numpy and waveform.dtype == torch.float64) \
        else torch.float32
    wav = _to_float_tensor(waveform)
    if int(orig_sr) != int(new_sr):
        wav = AF.resample(wav, int(orig_sr), int(new_sr), **_KAISER_BEST)
    wav = wav.to(out_dtype)
    return wav.numpy() if as_numpy else wav


@overload
def slice_waveform(waveform: np.ndarray | torch.Tensor, sample_rate: int, num_slices: int,
                   slice_seconds: float = ..., hop_seconds: float = ...,
                   return_padding: Literal[False] = ...) -> torch.Tensor: ...


@overload
def slice_waveform(waveform: np.ndarray | torch.Tensor, sample_rate: int, num_slices: int,
                   slice_seconds: float = ..., hop_seconds: float = ...,
                   return_padding: Literal[True] = ...) -> tuple[torch.Tensor, int]: ...


def slice_waveform(waveform: np.ndarray | torch.Tensor, sample_rate: int, num_slices: int,
                   slice_seconds: float = 0.96, hop_seconds: float = 1.0,
                   return_padding: bool = False) -> torch.Tensor | tuple[torch.Tensor, int]:
    """Cut a mono waveform into ``num_slices`` slices, one per video frame.

    Slice ``t`` covers samples ``[round(t * hop * sr), round(t * hop * sr) + L)``
    with ``L = round(slice_seconds * sr)``. Where the waveform is too short the
    slice is completed with zeros.

    Args:
        waveform: ``[S]`` float or int16 (scaled by 1 / 32768).
        sample_rate: Hz.
        num_slices: T.
        slice_seconds, hop_seconds: slice length and start-to-start distance.
        return_padding: also return the number of zero samples that were added.

    Returns:
        ``float32 Tensor[T, L]``, or ``(Tensor[T, L], padded_samples)``.
    """
    if num_slices < 1:
        raise ValueError(f'num_slices must be >= 1, got {num_slices}')
    if slice_seconds <= 0 or hop_seconds <= 0:
        raise ValueError('slice_seconds and hop_seconds must be > 0')
    wav = _to_float_tensor(waveform, torch.float32)
    slice_len = int(round(slice_seconds * sample_rate))
    starts = [int(round(t * hop_seconds * sample_rate)) for t in range(num_slices)]
    needed = starts[-1] + slice_len
    padded = max(0, needed - wav.numel())
    if padded:
        wav = torch.cat([wav, wav.new_zeros(padded)])
    slices = torch.stack([wav[s:s + slice_len] for s in starts])
    return (slices, padded) if return_padding else slices


@functools.lru_cache(maxsize=8)
def vggish_mel_matrix(num_mel_bins: int = VGGISH_MEL_BINS,
                      num_spectrogram_bins: int = VGGISH_FFT // 2 + 1,
                      sample_rate: int = VGGISH_SAMPLE_RATE,
                      lower_edge_hz: float = VGGISH_MEL_MIN_HZ,
                      upper_edge_hz: float = VGGISH_MEL_MAX_HZ) -> np.ndarray:
    """VGGish's mel weight matrix ``float64[num_spectrogram_bins, num_mel_bins]``.

    Triangles are built in the HTK mel domain (``1127 ln(1 + f / 700)``) over
    ``num_mel_bins + 2`` equally spaced mel edges, evaluated at the mel value
    of each rfft bin centre; the DC bin row is zeroed. This differs from
    ``torchaudio.functional.melscale_fbanks`` (triangles in Hz).
    """
    nyquist = sample_rate / 2.0
    if not 0.0 <= lower_edge_hz < upper_edge_hz <= nyquist:
        raise ValueError(f'need 0 <= lower ({lower_edge_hz}) < upper ({upper_edge_hz}) '
                         f'<= nyquist ({nyquist})')

    def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)

    bins_mel = hz_to_mel(np.linspace(0.0, nyquist, num_spectrogram_bins))
    edges = np.linspace(hz_to_mel(lower_edge_hz), hz_to_mel(upper_edge_hz), num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (center - lower)
    falling = (upper - bins_mel[:, None]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    weights.setflags(write=False)
    return weights


@functools.lru_cache(maxsize=1)
def _mel_matrix_tensor() -> torch.Tensor:
    return torch.tensor(vggish_mel_matrix(), dtype=torch.float64)


def _vggish_log_mel_frames(wav16k: torch.Tensor) -> torch.Tensor:
    """float64 ``[S]`` at 16 kHz -> float64 log-mel ``[F, 64]`` (tail frames dropped)."""
    if wav16k.numel() < VGGISH_WINDOW:
        return wav16k.new_zeros((0, VGGISH_MEL_BINS))
    frames = wav16k.unfold(0, VGGISH_WINDOW, VGGISH_HOP)               # [F, 400]
    n = torch.arange(VGGISH_WINDOW, dtype=torch.float64)
    window = 0.5 - 0.5 * torch.cos(2.0 * torch.pi * n / VGGISH_WINDOW)  # periodic Hann
    magnitude = torch.fft.rfft(frames * window, n=VGGISH_FFT).abs()     # [F, 257]
    mel = magnitude @ _mel_matrix_tensor()                             # [F, 64]
    return torch.log(mel + VGGISH_LOG_OFFSET)


def vggish_log_mel(waveform: np.ndarray | torch.Tensor, sample_rate: int) -> torch.Tensor:
    """VGGish input examples of a mono waveform (``vggish_input.waveform_to_examples``).

    Args:
        waveform: ``[S]`` float in [-1, 1], or int16 (scaled by 1 / 32768 as VGGish's
            ``wavfile_to_examples`` does). ndarray or tensor.
        sample_rate: Hz; resampled to 16 kHz with :func:`resample` when different.

    Returns:
        ``float32 Tensor[N, 1, 96, 64]`` (time, mel), ``N = (F - 96) // 96 + 1``
        complete examples of ``F = (S16k - 400) // 160 + 1`` frames (0 if too short).
    """
    wav = _to_float_tensor(waveform)
    if int(sample_rate) != VGGISH_SAMPLE_RATE:
        wav = _to_float_tensor(resample(wav, sample_rate, VGGISH_SAMPLE_RATE))
    log_mel = _vggish_log_mel_frames(wav)
    num_examples = max(0, (log_mel.shape[0] - VGGISH_EXAMPLE_FRAMES) // VGGISH_EXAMPLE_FRAMES + 1)
    examples = log_mel[:num_examples * VGGISH_EXAMPLE_FRAMES]
    return examples.reshape(num_examples, 1, VGGISH_EXAMPLE_FRAMES, VGGISH_MEL_BINS).float()


def samples_for_examples(num_examples: int, sample_rate: int = VGGISH_SAMPLE_RATE) -> int:
    """Fewest samples at ``sample_rate`` that give ``num_examples`` VGGish examples."""
    at_16k = VGGISH_WINDOW + (num_examples * VGGISH_EXAMPLE_FRAMES - 1) * VGGISH_HOP
    return int(np.ceil(at_16k * sample_rate / VGGISH_SAMPLE_RATE))


def vggish_log_mel_clip(waveform: np.ndarray | torch.Tensor, sample_rate: int,
                        num_examples: int) -> tuple[torch.Tensor, int]:
    """Exactly ``num_examples`` VGGish examples of a clip (one per video frame).

    The clip is resampled to 16 kHz, zero-padded at the end when it is too short
    (silence: ``log(0.01)`` in every band of the padded frames) and cut to the
    first ``num_examples`` examples, as AVSBench's per-clip log-mel files hold.

    Returns:
        ``(float32 Tensor[num_examples, 1, 96, 64], padded_samples_at_16k)``.
    """
    wav = _to_float_tensor(waveform)
    if int(sample_rate) != VGGISH_SAMPLE_RATE:
        wav = _to_float_tensor(resample(wav, sample_rate, VGGISH_SAMPLE_RATE))
    padded = max(0, samples_for_examples(num_examples) - wav.numel())
    if padded:
        wav = torch.cat([wav, wav.new_zeros(padded)])
    return vggish_log_mel(wav, VGGISH_SAMPLE_RATE)[:num_examples], padded
