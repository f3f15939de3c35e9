"""A disk cache of VGGish log-mels computed from wav files (``LoadClipAudio(cache_dir=...)``).

Decoding, resampling and the VGGish front end of a clip's wav give the same array every
epoch; the cache keeps it in ``cache_dir`` under a key made of the wav's absolute
path, modification time (ns) and size, the front-end parameters and
:data:`CACHE_VERSION`. A changed wav (new mtime or size) gets a new key, so a stale
entry is never read. Writes go to a temporary file in the same folder and are
renamed into place (``os.replace``, atomic on POSIX), so concurrent dataloader
workers and processes may fill the same cache: a reader sees a whole file or none.
An unreadable entry is recomputed and rewritten.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable

import numpy as np

from . import audio as A

__all__ = ['CACHE_VERSION', 'FRONT_END_PARAMS', 'log_mel_cache_key', 'cached_log_mel']

#: bump when the front end's arithmetic changes (old entries are then not read).
CACHE_VERSION = 1
#: what a wav's log-mel depends on besides the wav (part of every key).
FRONT_END_PARAMS = dict(
    sample_rate=A.VGGISH_SAMPLE_RATE, window=A.VGGISH_WINDOW, hop=A.VGGISH_HOP,
    fft=A.VGGISH_FFT, mel_bins=A.VGGISH_MEL_BINS,
    mel_hz=(A.VGGISH_MEL_MIN_HZ, A.VGGISH_MEL_MAX_HZ), log_offset=A.VGGISH_LOG_OFFSET,
    example_frames=A.VGGISH_EXAMPLE_FRAMES, resampler=A._KAISER_BEST)


def log_mel_cache_key(wav_path: str, params: dict) -> str:
    """sha1 of the wav's identity (absolute path, mtime ns, size) and ``params``."""
    stat = os.stat(wav_path)
    ident = dict(path=os.path.abspath(wav_path), mtime_ns=stat.st_mtime_ns,
                 size=stat.st_size, params=params, version=CACHE_VERSION)
    return hashlib.sha1(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


def _load(path: str) -> tuple[np.ndarray, int] | None:
    try:
        with np.load(path) as data:
            return data['log_mel'], int(data['num_samples'])
    except (OSError, ValueError, KeyError, EOFError):
        return None


def _save(path: str, log_mel: np.ndarray, num_samples: int) -> None:
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp_', suffix='.npz')
    try:
        with os.fdopen(fd, 'wb') as f:
            np.savez(f, log_mel=log_mel, num_samples=np.int64(num_samples))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def cached_log_mel(cache_dir: str, wav_path: str, params: dict,
                   compute: Callable[[], tuple[np.ndarray, int]]) -> tuple[np.ndarray, int]:
    """``compute()`` -> ``(log_mel float32[T, 1, 96, 64], samples at 16 kHz)``, through the cache.

    Args:
        cache_dir: cache folder (created when missing).
        wav_path: the wav the log-mel is computed from.
        params: everything else the result depends on (front-end settings, T, slicing).
        compute: computes the value when the cache has no valid entry.
    """
    key = log_mel_cache_key(wav_path, params)
    path = os.path.join(cache_dir, key[:2], f'{key}.npz')
    hit = _load(path) if os.path.isfile(path) else None
    if hit is not None:
        return hit
    log_mel, num_samples = compute()
    _save(path, np.ascontiguousarray(log_mel, dtype=np.float32), num_samples)
    return log_mel, num_samples
