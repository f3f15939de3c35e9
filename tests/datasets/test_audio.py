"""Tests of catravs.datasets.transforms.audio.

The VGGish log-mel is checked against an independent numpy reference written
here from the algorithm's definition (tensorflow vggish_input.py +
mel_features.py): explicit per-frame loops, np.fft.rfft and a mel matrix filled
entry by entry.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import chirp

from catravs.datasets.transforms.audio import (
    AudioFileError,
    load_wav,
    resample,
    samples_for_examples,
    slice_waveform,
    vggish_log_mel,
    vggish_log_mel_clip,
    vggish_mel_matrix,
)

SR = 16000


# ------------------------------------------------------------------ numpy reference
def _hz_to_mel(hz: float) -> float:
    return 1127.0 * math.log(1.0 + hz / 700.0)


@functools.lru_cache(maxsize=1)
def reference_mel_matrix() -> np.ndarray:
    """[257, 64]: HTK-mel triangles evaluated at each rfft bin, DC row zero."""
    num_bins, num_bands = 257, 64
    lo_mel, hi_mel = _hz_to_mel(125.0), _hz_to_mel(7500.0)
    step = (hi_mel - lo_mel) / (num_bands + 1)
    edges = [lo_mel + j * step for j in range(num_bands + 2)]
    weights = np.zeros((num_bins, num_bands))
    for k in range(1, num_bins):  # k = 0 (DC) stays zero
        m = _hz_to_mel(k * (SR / 2) / (num_bins - 1))
        for b in range(num_bands):
            left, centre, right = edges[b], edges[b + 1], edges[b + 2]
            up = (m - left) / (centre - left)
            down = (right - m) / (right - centre)
            weights[k, b] = max(0.0, min(up, down))
    return weights


def reference_examples(wav16k: np.ndarray) -> np.ndarray:
    """[N, 96, 64] VGGish examples of a float waveform at 16 kHz."""
    win, hop, nfft = 400, 160, 512
    window = np.array([0.5 - 0.5 * math.cos(2 * math.pi * i / win) for i in range(win)])
    num_frames = 1 + (len(wav16k) - win) // hop if len(wav16k) >= win else 0
    spectra = [np.abs(np.fft.rfft(wav16k[f * hop:f * hop + win] * window, nfft))
               for f in range(num_frames)]
    spectrogram = np.array(spectra).reshape(num_frames, nfft // 2 + 1)
    log_mel = np.log(spectrogram @ reference_mel_matrix() + 0.01)
    num_examples = 1 + (num_frames - 96) // 96 if num_frames >= 96 else 0
    return np.stack([log_mel[e * 96:(e + 1) * 96] for e in range(num_examples)]) \
        if num_examples else np.zeros((0, 96, 64))


# ------------------------------------------------------------------ signals
def _signals(sr: int, seconds: float = 2.1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    return {
        'tone_440': 0.5 * np.sin(2 * np.pi * 440 * t),
        'tone_3k': 0.3 * np.sin(2 * np.pi * 3000 * t + 0.3),
        'white_noise': 0.1 * rng.standard_normal(t.size),
        'chirp': 0.4 * chirp(t, f0=100, t1=seconds, f1=7000, method='logarithmic'),
        'silence': np.zeros(t.size),
    }


@pytest.mark.parametrize('name', ['tone_440', 'tone_3k', 'white_noise', 'chirp', 'silence'])
@pytest.mark.parametrize('sr', [16000, 44100])
def test_vggish_log_mel_matches_reference(name: str, sr: int) -> None:
    wav = _signals(sr)[name].astype(np.float32)
    out = vggish_log_mel(wav, sr)
    # The resampler is not part of what is checked here: both sides use the same one.
    wav16k = wav if sr == SR else resample(wav, sr, SR)
    ref = reference_examples(wav16k.astype(np.float64))
    assert out.dtype == torch.float32
    assert out.shape == (ref.shape[0], 1, 96, 64) and ref.shape[0] == 2
    np.testing.assert_allclose(out[:, 0].numpy(), ref, atol=1e-3, rtol=0)
    if name == 'silence':
        assert torch.allclose(out, torch.full_like(out, math.log(0.01)))


def test_vggish_log_mel_accepts_torch_and_int16() -> None:
    wav = _signals(SR)['chirp']
    pcm = np.round(wav * 32767).astype(np.int16)
    scaled = pcm.astype(np.float64) / 32768.0
    from_int16 = vggish_log_mel(pcm, SR)
    np.testing.assert_allclose(from_int16[:, 0].numpy(), reference_examples(scaled), atol=1e-3)
    from_torch = vggish_log_mel(torch.from_numpy(pcm), SR)
    assert torch.equal(from_int16, from_torch)
    assert torch.allclose(vggish_log_mel(torch.from_numpy(scaled).float(), SR), from_int16,
                          atol=1e-4)


def test_vggish_mel_matrix_matches_reference() -> None:
    ours = vggish_mel_matrix()
    assert ours.shape == (257, 64)
    assert np.all(ours[0] == 0)
    np.testing.assert_allclose(ours, reference_mel_matrix(), atol=1e-12)


def test_vggish_framing_drops_incomplete_tail() -> None:
    need = samples_for_examples(2)
    assert need == 400 + (2 * 96 - 1) * 160
    noise = np.random.default_rng(1).standard_normal(need + 400).astype(np.float32) * 0.1
    assert vggish_log_mel(noise[:need], SR).shape[0] == 2
    assert vggish_log_mel(noise[:need - 1], SR).shape[0] == 1
    # 0.96 s alone is too short for one example (needs 0.975 s).
    assert vggish_log_mel(noise[:15360], SR).shape == (0, 1, 96, 64)
    assert vggish_log_mel(noise[:100], SR).shape == (0, 1, 96, 64)


def test_vggish_log_mel_clip_pads_with_silence() -> None:
    wav = _signals(SR, 1.5)['tone_440'].astype(np.float32)
    examples, padded = vggish_log_mel_clip(wav, SR, 3)
    assert examples.shape == (3, 1, 96, 64)
    assert padded == samples_for_examples(3) - wav.size
    assert torch.allclose(examples[2, 0, -1], torch.full((64,), math.log(0.01)))
    full, padded = vggish_log_mel_clip(_signals(SR, 5.0)['tone_440'], SR, 5)
    assert full.shape[0] == 5 and padded == 0


def test_resample_keeps_a_tone() -> None:
    seconds = 2.1
    tone44 = _signals(44100, seconds)['tone_440'].astype(np.float32)
    tone16 = _signals(SR, seconds)['tone_440'].astype(np.float32)
    out = resample(tone44, 44100, SR)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.size == tone16.size
    interior = slice(1000, -1000)  # away from the filter's edge effects
    assert np.max(np.abs(out[interior] - tone16[interior])) < 1e-3
    as_tensor = resample(torch.from_numpy(tone44), 44100, SR)
    assert torch.is_tensor(as_tensor) and np.allclose(as_tensor.numpy(), out)
    assert resample(tone16, SR, SR) is not tone16 and np.array_equal(resample(tone16, SR, SR),
                                                                      tone16)


# ------------------------------------------------------------------ slicing
def test_slice_waveform_starts_and_padding() -> None:
    sr = 100
    wav = np.arange(350, dtype=np.float32)
    slices, padded = slice_waveform(wav, sr, num_slices=4, slice_seconds=0.96,
                                    hop_seconds=1.0, return_padding=True)
    assert slices.shape == (4, 96) and slices.dtype == torch.float32
    for t in range(3):
        assert torch.equal(slices[t], torch.arange(t * 100, t * 100 + 96, dtype=torch.float32))
    assert torch.equal(slices[3, :50], torch.arange(300, 350, dtype=torch.float32))
    assert torch.all(slices[3, 50:] == 0)
    assert padded == 300 + 96 - 350
    plain = slice_waveform(wav, sr, 3, 0.96, 1.0)
    assert torch.is_tensor(plain) and plain.shape == (3, 96)
    assert slice_waveform(wav, sr, 3, return_padding=True)[1] == 0


def test_slice_waveform_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        slice_waveform(np.zeros(10, np.float32), 10, 0)
    with pytest.raises(ValueError, match='mono'):
        slice_waveform(np.zeros((10, 2), np.float32), 10, 1)


# ------------------------------------------------------------------ load_wav
def test_load_wav_mixes_to_mono(tmp_path) -> None:
    rng = np.random.default_rng(2)
    stereo = rng.integers(-20000, 20000, size=(800, 2)).astype(np.int16)
    path = tmp_path / 'stereo.wav'
    sf.write(path, stereo, 8000, subtype='PCM_16')
    wav, sr = load_wav(path)
    assert sr == 8000 and wav.dtype == np.float32 and wav.shape == (800,)
    np.testing.assert_allclose(wav, stereo.astype(np.float64).mean(1) / 32768.0, atol=1e-7)


def test_load_wav_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match='missing.wav'):
        load_wav(tmp_path / 'missing.wav')
    broken = tmp_path / 'broken.wav'
    broken.write_bytes(b'this is not a wav file at all')
    with pytest.raises(AudioFileError, match='broken.wav'):
        load_wav(broken)
    empty = tmp_path / 'empty.wav'
    sf.write(empty, np.zeros((0, 1), np.int16), 16000, subtype='PCM_16')
    with pytest.raises(AudioFileError, match='empty.wav'):
        load_wav(empty)
