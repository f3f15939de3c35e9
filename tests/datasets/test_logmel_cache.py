"""The log-mel cache of LoadClipAudio(source='wav', cache_dir=...)."""
import glob
import os
import threading

import numpy as np
import pytest
import soundfile as sf

from catravs.datasets.transforms import LoadClipAudio
from catravs.datasets.transforms import log_mel_cache as cache_module


def _write_wav(path, freq: float, seconds: float = 5.2, sample_rate: int = 22050) -> None:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sample_rate)


def _info(path, frames: int = 5) -> dict:
    return dict(clip_id='c', num_frames=frames, valid_frames=[True] * frames,
                wav_path=str(path), frame_paths=[None] * frames)


def _entries(cache_dir) -> list[str]:
    return sorted(glob.glob(os.path.join(cache_dir, '*', '*.npz')))


@pytest.mark.parametrize('slicing', ['clip', 'per_second'])
def test_cached_equals_uncached_and_is_read_back(tmp_path, monkeypatch, slicing) -> None:
    wav, cache = tmp_path / 'a.wav', str(tmp_path / 'cache')
    _write_wav(wav, 440.0)
    plain = LoadClipAudio(source='wav', wav_slicing=slicing)(_info(wav))['audio']
    cached = LoadClipAudio(source='wav', wav_slicing=slicing, cache_dir=cache)
    first = cached(_info(wav))['audio']
    assert len(_entries(cache)) == 1
    np.testing.assert_array_equal(first, plain)
    assert first.dtype == np.float32 and first.flags.writeable

    def fail(*args, **kwargs):
        raise AssertionError('recomputed although cached')

    monkeypatch.setattr(LoadClipAudio, '_wav_log_mel', fail)
    np.testing.assert_array_equal(cached(_info(wav))['audio'], plain)


def test_key_depends_on_frames_and_slicing(tmp_path) -> None:
    wav, cache = tmp_path / 'a.wav', str(tmp_path / 'cache')
    _write_wav(wav, 440.0, seconds=10.5)
    for frames, slicing in [(5, 'clip'), (10, 'clip'), (5, 'per_second')]:
        out = LoadClipAudio(source='wav', wav_slicing=slicing, cache_dir=cache)(
            _info(wav, frames))['audio']
        ref = LoadClipAudio(source='wav', wav_slicing=slicing)(_info(wav, frames))['audio']
        np.testing.assert_array_equal(out, ref)
    assert len(_entries(cache)) == 3


def test_changed_wav_invalidates_the_entry(tmp_path) -> None:
    wav, cache = tmp_path / 'a.wav', str(tmp_path / 'cache')
    _write_wav(wav, 440.0)
    stat = os.stat(wav)
    transform = LoadClipAudio(source='wav', wav_slicing='clip', cache_dir=cache)
    old = transform(_info(wav))['audio']
    _write_wav(wav, 1000.0)  # same length and size: only the mtime tells them apart
    os.utime(wav, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert os.stat(wav).st_size == stat.st_size
    new = transform(_info(wav))['audio']
    np.testing.assert_array_equal(new, LoadClipAudio(source='wav', wav_slicing='clip')(
        _info(wav))['audio'])
    assert not np.array_equal(new, old)
    assert len(_entries(cache)) == 2


def test_damaged_entry_is_recomputed(tmp_path) -> None:
    wav, cache = tmp_path / 'a.wav', str(tmp_path / 'cache')
    _write_wav(wav, 440.0)
    transform = LoadClipAudio(source='wav', wav_slicing='clip', cache_dir=cache)
    ref = transform(_info(wav))['audio']
    (entry,) = _entries(cache)
    with open(entry, 'wb') as f:
        f.write(b'not an npz')
    np.testing.assert_array_equal(transform(_info(wav))['audio'], ref)
    assert cache_module._load(entry) is not None  # rewritten


def test_short_wav_warns_on_a_cache_hit_too(tmp_path, mm_messages) -> None:
    wav, cache = tmp_path / 'short.wav', str(tmp_path / 'cache')
    _write_wav(wav, 440.0, seconds=2.5, sample_rate=16000)
    transform = LoadClipAudio(source='wav', cache_dir=cache)
    for _ in range(2):
        mm_messages.clear()
        transform(_info(wav))
        assert any('padded with silence' in m for m in mm_messages)


def test_concurrent_writers_leave_one_whole_entry(tmp_path, monkeypatch) -> None:
    wav, cache = tmp_path / 'a.wav', str(tmp_path / 'cache')
    _write_wav(wav, 440.0)
    ref = LoadClipAudio(source='wav', wav_slicing='clip')(_info(wav))['audio']
    barrier = threading.Barrier(4)
    compute = LoadClipAudio._wav_log_mel

    def slow_compute(self, *args):  # all four miss the cache and write at once
        out = compute(self, *args)
        barrier.wait(timeout=30)
        return out

    monkeypatch.setattr(LoadClipAudio, '_wav_log_mel', slow_compute)
    outs = []
    transform = LoadClipAudio(source='wav', wav_slicing='clip', cache_dir=cache)
    threads = [threading.Thread(target=lambda: outs.append(transform(_info(wav))['audio']))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outs) == 4 and all(np.array_equal(o, ref) for o in outs)
    assert len(_entries(cache)) == 1
    assert not glob.glob(os.path.join(cache, '*', '.tmp_*'))
