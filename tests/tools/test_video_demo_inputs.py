"""tools/video_demo.py: what each pass hears, partial checkpoints, and inputs as cameras
write them (NTSC 29.97 frames per second, 48 kHz stereo) with a T = 10 (AVSS) model.

The audio oracle is the soundtrack as written (16-bit PCM in Matroska decodes to the
written samples exactly), cut by hand at the times the sampling rule gives: pass ``j``
of ``N`` of clip ``c`` hears ``[c T + j / N, c T + j / N + T)`` seconds.
"""
from __future__ import annotations

import csv
import json
import os
import os.path as osp
from fractions import Fraction

import numpy as np
import pytest
import torch
from PIL import Image

from tests.apis.video_helpers import write_video
from tests.conftest import REPO_ROOT

pytest.importorskip('av')  # the 'video' extra, included in the 'tests' extra

from tests.tools.test_video_demo import CONFIG, load_tool, make_frames  # noqa: E402


def avss_config(folder) -> str:
    """The tiny CATR with AVSBench-semantic's data config (T = 10, 71 classes, frames
    resized to 224 then 448) and its task: a semantic model."""
    base = osp.join(REPO_ROOT, 'configs', '_base_')
    path = osp.join(folder, 'catr_tiny_avss.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.join(base, 'models', 'catr_tiny.py')!r}, "
                f"{osp.join(base, 'datasets', 'avsbench_avss.py')!r}, "
                f"{osp.join(base, 'default_runtime.py')!r}]\n"
                "model = dict(task='semantic', num_classes=71)\n")
    return path


def pcm_noise(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """White noise that 16-bit PCM holds exactly: ``float32[S]`` or ``[S, channels]``."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    pcm = rng.integers(-12000, 12000, (n, channels) if channels > 1 else n)
    return (pcm / 32768.0).astype(np.float32)


def spy_on_inference(monkeypatch) -> list[dict]:
    """Record what the demo hands ``inference_model`` (it imports it at run time from
    ``catravs.apis``), and what it returns."""
    import catravs.apis as apis
    real = apis.inference_model
    calls = []

    def spy(model, frames, audio=None, **kwargs):
        out = real(model, frames, audio=audio, **kwargs)
        calls.append(dict(frames=[f.copy() for f in frames], wave=np.array(audio[0]),
                          rate=audio[1], kwargs=kwargs, pred=[s.pred_masks.clone() for s in out]))
        return out

    monkeypatch.setattr(apis, 'inference_model', spy)
    return calls


def run_main(args, capsys) -> tuple[int, str]:
    code = load_tool().main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize('passes', [3])
def test_each_pass_hears_its_own_audio_window(passes, tmp_path, capsys, monkeypatch):
    """7 s at 10 frames per second, T = 5: pass j's clips hear the soundtrack from
    c T + j / N seconds on, and its masks are written in pass j's slots."""
    rate, seconds, T = 8000, 7, 5
    wave = pcm_noise(seconds, rate)
    video = write_video(str(tmp_path / 'noise.mkv'), make_frames(seconds, 10), 10,
                        (wave, rate), lossless=True)
    calls = spy_on_inference(monkeypatch)
    out_dir = tmp_path / 'out'
    code, log = run_main([video, CONFIG, '--out-dir', out_dir, '--fps', passes], capsys)
    assert code == 0, log
    # the calls, in order: clip c = 0, 1; pass j = 0 .. N - 1 (a pass whose first second
    # would end past the video has no clip)
    expected = [(c, j) for c in range(2) for j in range(passes)
                if c * T + 1 + j / passes <= seconds]
    assert len(calls) == len(expected)
    with open(out_dir / 'frames.csv') as f:
        rows = {int(r['index']): r for r in csv.DictReader(f)}
    for call, (c, j) in zip(calls, expected):
        assert call['rate'] == rate
        start = round((c * T + Fraction(j, passes)) * rate)
        want = wave[start:start + T * rate]
        got = call['wave']
        assert got.shape[0] in (T * rate, len(want)), got.shape
        np.testing.assert_array_equal(got[:len(want)], want,
                                      err_msg=f'clip {c}, pass {j}: wrong audio window')
        assert not got[len(want):].any()
        assert call['kwargs']['start_seconds'] == pytest.approx(c * T + j / passes)
        # the frames of this pass: seconds c T + t, pass j; the masks written for them
        for t in range(len(call['frames'])):
            index = (c * T + t) * passes + j
            assert (int(rows[index]['second']), int(rows[index]['pass'])) == (c * T + t, j)
            mask = np.array(Image.open(out_dir / 'masks' / f'{index:06d}.png'))
            np.testing.assert_array_equal(mask, call['pred'][0][t].numpy() * 255)


@pytest.fixture(scope='module')
def partial_checkpoint(tmp_path_factory) -> tuple[str, str]:
    """A checkpoint of the tiny CATR without one weight, and that weight's key."""
    from catravs.apis import init_model
    model = init_model(CONFIG)
    state = model.state_dict()
    dropped = next(k for k in state if k.startswith('head.'))
    del state[dropped]
    path = str(tmp_path_factory.mktemp('ckpt') / 'partial.pth')
    torch.save(dict(state_dict=state), path)
    return path, dropped


def test_partial_checkpoint_stops_the_demo_unless_allowed(partial_checkpoint, tmp_path,
                                                          capsys):
    ckpt, dropped = partial_checkpoint
    video = write_video(str(tmp_path / 'clip.mp4'), make_frames(2, 5), 5,
                        (pcm_noise(2, 8000), 8000))
    out_dir = tmp_path / 'out'
    code, log = run_main([video, CONFIG, ckpt, '--out-dir', out_dir], capsys)
    assert code == 1, log
    assert 'video_demo: error: ' in log and dropped in log and ckpt in log
    assert '--allow-partial' in log
    assert sorted(os.listdir(tmp_path)) == ['clip.mp4']  # nothing left behind
    code, log = run_main([video, CONFIG, ckpt, '--out-dir', out_dir, '--allow-partial'], capsys)
    assert code == 0, log
    summary = json.load(open(out_dir / 'summary.json'))
    assert summary['checkpoint'] == osp.abspath(ckpt) and summary['frames'] == 2


@pytest.mark.slow
def test_avss_model_on_ntsc_video_with_48k_stereo(tmp_path, capsys, monkeypatch):
    """A T = 10 semantic model, a 29.97 frames per second video of 12 s with a 48 kHz
    stereo soundtrack: 12 frames (the last before each second), 2 clips (the second
    padded), and the model hears the mean of the two channels at 48 kHz."""
    rate, seconds = 48000, 12
    fps = Fraction(30000, 1001)
    n_frames = int(seconds * fps) + 1  # 360 frames: the last starts at 11.978 s
    frames = []
    for i in range(n_frames):  # the frame index, written in its pixels
        img = np.zeros((48, 64, 3), np.uint8)
        img[..., 0], img[..., 1] = i % 256, i // 256
        frames.append(img)
    left, right = pcm_noise(seconds, rate, seed=1), pcm_noise(seconds, rate, seed=2)
    stereo = np.stack([left, right], axis=1)
    video = write_video(str(tmp_path / 'ntsc.mkv'), frames, fps, (stereo, rate), lossless=True)
    calls = spy_on_inference(monkeypatch)
    out_dir = tmp_path / 'out'
    code, log = run_main([video, avss_config(tmp_path), '--out-dir', out_dir], capsys)
    assert code == 0, log
    summary = json.load(open(out_dir / 'summary.json'))
    assert summary['frames_per_clip'] == 10 and summary['clips'] == 2
    assert summary['frames'] == 12 and summary['video_seconds'] == 12
    # the sampled frame of second k: the last that starts before k + 1 s, i.e. frame
    # ceil((k + 1) * 29.97) - 1 (by hand), read back from its pixels
    want_index = [-(-(k + 1) * fps // 1) - 1 for k in range(seconds)]
    got_index = [int(f[0, 0, 2]) + 256 * int(f[0, 0, 1])  # BGR
                 for call in calls for f in call['frames']]
    assert got_index == want_index
    with open(out_dir / 'frames.csv') as f:
        times = [float(r['time_s']) for r in csv.DictReader(f)]
    np.testing.assert_allclose(times, [float(i / fps) for i in want_index], atol=1e-3)
    # the audio: 48 kHz, the mean of both channels, seconds [10 c, 10 c + 10)
    mono = (left.astype(np.float64) + right) / 2
    for c, call in enumerate(calls):
        assert call['rate'] == rate
        want = mono[c * 10 * rate:(c + 1) * 10 * rate]
        np.testing.assert_allclose(call['wave'][:len(want)], want, atol=1e-6)
        assert not call['wave'][len(want):].any()
    for i in range(12):
        mask = Image.open(out_dir / 'masks' / f'{i:06d}.png')
        assert mask.mode == 'P' and mask.size == (64, 48)
