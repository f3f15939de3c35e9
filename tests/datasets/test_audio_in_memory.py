"""LoadClipAudio(source='wav') on a waveform in memory gives what it gives on the same
samples written to a wav (the oracle: the file path, unchanged)."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from catravs.datasets.transforms.loading import LoadClipAudio


def clip(T: int, **extra) -> dict:
    return dict(clip_id='c0', num_frames=T, frame_paths=[None] * T, valid_frames=[True] * T,
                **extra)


@pytest.mark.parametrize('slicing', ['clip', 'per_second'])
@pytest.mark.parametrize('rate,seconds', [(16000, 5.0), (22050, 3.4)])  # resampled; short
def test_in_memory_waveform_matches_the_wav_file(slicing, rate, seconds, tmp_path):
    rng = np.random.default_rng(0)
    wave = (0.3 * rng.standard_normal(int(seconds * rate))).astype(np.float32)
    path = str(tmp_path / 'a.wav')
    sf.write(path, wave, rate, subtype='FLOAT')  # float32 samples, read back exactly
    load = LoadClipAudio(source='wav', wav_slicing=slicing)
    from_file = load(clip(5, wav_path=path))['audio']
    from_memory = load(clip(5, wav_path=None, waveform=(wave, rate)))['audio']
    assert from_file.shape == (5, 1, 96, 64)
    np.testing.assert_array_equal(from_memory, from_file)


def test_inference_writes_no_temporary_file(monkeypatch):
    """inference_model hands each clip's samples to the pipeline, not through a wav."""
    import catravs.apis.clip_inference as clip_inference
    made = []
    monkeypatch.setattr(sf, 'write', lambda *a, **k: made.append(a[0]))
    from catravs.apis import init_model
    from tests.conftest import REPO_ROOT
    model = init_model(f'{REPO_ROOT}/configs/catr/catr_tiny_synthavs.py')
    frames = [np.full((32, 32, 3), 60 * i, np.uint8) for i in range(3)]
    out = clip_inference.inference_model(model, frames, audio=(np.zeros(48000, np.float32),
                                                               16000))
    assert len(out) == 1 and not made
