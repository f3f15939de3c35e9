"""tools/video_demo.py on generated videos with a soundtrack (PyAV), and its bad inputs."""
from __future__ import annotations

import csv
import glob
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from tests.apis.video_helpers import write_video
from tests.conftest import REPO_ROOT

av = pytest.importorskip('av')  # the 'video' extra, included in the 'tests' extra
TOOL = osp.join(REPO_ROOT, 'tools', 'video_demo.py')
CONFIG = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')
W, H = 80, 60


def load_tool():
    spec = importlib.util.spec_from_file_location('video_demo', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_frames(seconds: float, fps: int) -> list[np.ndarray]:
    """A square moving left to right, one colour per second (RGB)."""
    frames = []
    for i in range(int(round(seconds * fps))):
        img = np.full((H, W, 3), 40, np.uint8)
        x = int(i / fps * 8) % (W - 16)
        img[20:36, x:x + 16] = (200, 60 + 30 * int(i / fps), 60)
        frames.append(img)
    return frames


def tone(seconds: float, rate: int = 22050) -> tuple[np.ndarray, int]:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate


@pytest.fixture(scope='module')
def video(tmp_path_factory) -> str:
    """7 s at 10 frames per second with a 22.05 kHz soundtrack: 2 clips of T = 5."""
    path = str(tmp_path_factory.mktemp('video') / 'walk.mp4')
    return write_video(path, make_frames(7, 10), 10, tone(7))


def run_main(args: list[str], capsys) -> tuple[int, str]:
    code = load_tool().main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


def check_outputs(out_dir: str, count: int, has_audio: bool = True) -> None:
    for sub in ('masks', 'overlays'):
        files = sorted(glob.glob(osp.join(out_dir, sub, '*.png')))
        assert [osp.basename(f) for f in files] == [f'{i:06d}.png' for i in range(count)]
        for f in files:
            assert Image.open(f).size == (W, H)
    masks = np.stack([np.array(Image.open(f)) for f in glob.glob(osp.join(out_dir, 'masks', '*'))])
    assert set(np.unique(masks).tolist()) <= {0, 255}
    with av.open(osp.join(out_dir, 'overlay.mp4')) as container:
        assert bool(container.streams.audio) == has_audio
        decoded = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
    assert len(decoded) >= count and decoded[-1].shape == (H, W, 3)
    with open(osp.join(out_dir, 'frames.csv')) as f:
        assert len(list(csv.DictReader(f))) == count
    assert not glob.glob(osp.join(osp.dirname(out_dir), '.*partial*'))


def test_demo_cli_two_masks_per_second(video, tmp_path):
    """The command line, with --fps 2: 7 + 6 sampled frames (pass 1 starts 0.5 s later)."""
    out_dir = str(tmp_path / 'out')
    proc = subprocess.run([sys.executable, TOOL, video, CONFIG, '--out-dir', out_dir, '--fps',
                           '2'], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert 'initial (untrained) weights' in proc.stderr
    assert '4 clips, 13 frames' in proc.stdout and 'frames/s' in proc.stdout
    assert 'frame/s]' in proc.stderr  # the progress bar
    check_outputs(out_dir, 13)  # second 6 of pass 1 would end past the video
    # the sampling rule, by hand: at 10 frames per second the last frame before k + 1 s is
    # at k + 0.9 s (pass 0); pass 1 (started 0.5 s later) takes the last before k + 1.5 s
    with open(osp.join(out_dir, 'frames.csv')) as f:
        rows = list(csv.DictReader(f))
    expected = sorted([(k, 0, k + 0.9) for k in range(7)] + [(k, 1, k + 1.4) for k in range(6)],
                      key=lambda r: (r[0], r[1]))
    assert [(int(r['second']), int(r['pass'])) for r in rows] == [e[:2] for e in expected]
    np.testing.assert_allclose([float(r['time_s']) for r in rows], [e[2] for e in expected],
                               atol=1e-3)


def test_demo_writes_one_mask_and_overlay_per_second(video, tmp_path, capsys):
    # the model has random weights: seeded, so that its masks hold background pixels
    # whatever ran before in this process (the overlay check below reads those)
    torch.manual_seed(0)
    from tests.tools.method_tools import check_video_demo_binary  # it imports this module
    out_dir = check_video_demo_binary(video, CONFIG, tmp_path, capsys)
    with open(osp.join(out_dir, 'frames.csv')) as f:  # the last frame of each second
        times = [float(r['time_s']) for r in csv.DictReader(f)]
    np.testing.assert_allclose(times, [k + 0.9 for k in range(7)], atol=1e-3)
    # overlays draw the prediction on the sampled frame (the last frame of each second)
    frames = make_frames(7, 10)
    for i in range(7):
        overlay = np.array(Image.open(osp.join(out_dir, 'overlays', f'{i:06d}.png')))
        mask = np.array(Image.open(osp.join(out_dir, 'masks', f'{i:06d}.png'))) == 0
        diff = np.abs(overlay.astype(int) - frames[10 * i + 9].astype(int))[mask]
        assert diff.mean() < 6  # H.264: close to the frame where nothing is drawn
    # a second run refuses to overwrite, unless asked
    code, log = run_main([video, CONFIG, '--out-dir', out_dir], capsys)
    assert code == 1 and 'not empty' in log and out_dir in log
    code, log = run_main([video, CONFIG, '--out-dir', out_dir, '--overwrite'], capsys)
    assert code == 0, log
    check_outputs(out_dir, 7)


def test_silent_video_needs_allow_silent(tmp_path, capsys):
    video = write_video(str(tmp_path / 'mute.mkv'), make_frames(2, 5), 5)
    out_dir = str(tmp_path / 'out')
    code, log = run_main([video, CONFIG, '--out-dir', out_dir], capsys)
    assert code == 1 and 'mute.mkv has no soundtrack' in log and '--allow-silent' in log
    assert not osp.exists(out_dir)
    code, log = run_main([video, CONFIG, '--out-dir', out_dir, '--allow-silent'], capsys)
    assert code == 0, log
    assert 'ran with silence' in log
    check_outputs(out_dir, 2, has_audio=False)
    assert 'silence' in json.load(open(osp.join(out_dir, 'summary.json')))['audio']


@pytest.mark.parametrize('case', ['missing', 'unreadable', 'short', 'config', 'no_video',
                                  'empty', 'damaged_data'])
def test_bad_inputs_name_the_file_and_leave_nothing(case, tmp_path, capsys):
    video, config = str(tmp_path / 'clip.mp4'), CONFIG
    if case == 'empty':  # 0 bytes
        open(video, 'wb').close()
    elif case == 'damaged_data':  # Matroska: the header is intact, the data after it random
        video = write_video(str(tmp_path / 'clip.mkv'), make_frames(6, 10), 10, tone(6))
        with open(video, 'r+b') as f:
            size = f.seek(0, 2)
            f.seek(4096)
            f.write(np.random.default_rng(0).integers(0, 256, size - 4096, np.uint8).tobytes())
    elif case == 'unreadable':
        with open(video, 'wb') as f:
            f.write(b'\x00not a video\x17' * 100)
    elif case == 'short':
        write_video(video, make_frames(0.5, 10), 10, tone(0.5))
    elif case == 'config':
        write_video(video, make_frames(2, 10), 10, tone(2))
        config = osp.join(REPO_ROOT, 'configs', '_base_', 'default_runtime.py')
    elif case == 'no_video':
        video = str(tmp_path / 'clip.wav')
        import soundfile as sf
        sf.write(video, *tone(2))
    out_dir = str(tmp_path / 'out')
    code, log = run_main([video, config, '--out-dir', out_dir], capsys)
    assert code == 1
    named = config if case == 'config' else video
    assert 'video_demo: error: ' in log and named in log, log
    expected = dict(missing='not found', unreadable='cannot read', short='shorter than one second',
                    config='not a catravs model config', no_video='no video stream',
                    empty='cannot read', damaged_data='video data is damaged')[case]
    assert expected in log, log
    assert sorted(os.listdir(tmp_path)) == [osp.basename(video)] * (case != 'missing')


def test_missing_pyav_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, 'av', None)
    video = str(tmp_path / 'clip.mp4')
    open(video, 'wb').close()
    code, log = run_main([video, CONFIG, '--out-dir', str(tmp_path / 'out')], capsys)
    assert code == 1 and 'pip install av' in log and ".[video]" in log


def test_semantic_model_writes_palette_masks(video, tmp_path, capsys):
    from tests.tools.method_tools import (  # it imports this module
        SEMANTIC_MODEL,
        check_video_demo_semantic,
        semantic_config,
    )
    check_video_demo_semantic(video, semantic_config(tmp_path, CONFIG, SEMANTIC_MODEL),
                              tmp_path, capsys)


def test_clips_past_the_end_of_the_sound_are_warned_once_with_their_time(tmp_path, capsys,
                                                                         monkeypatch):
    """17 s of picture, 6 s of sound, T = 5: clips 2 (10-15 s) and 3 (15-17 s) are silent.

    Streaming hands inference one window at a time; each message names the clip's
    place in the whole video, and summary.json lists the silent clips."""
    frames = [f for _ in range(17) for f in make_frames(1, 4)]
    video = write_video(str(tmp_path / 'short_sound.mp4'), frames, 4, tone(6))
    out_dir = str(tmp_path / 'out')
    import catravs.apis.clip_inference as clip_inference
    logged = []  # MMEngine's 'current' logger may be another test's: record the calls
    monkeypatch.setattr(clip_inference, 'print_log', lambda msg, **kw: logged.append(msg))
    code, log = run_main([video, CONFIG, '--out-dir', out_dir], capsys)
    assert code == 0, log
    warnings = [line for line in logged if 'the audio ends before it' in line]
    assert len(warnings) == 2, warnings
    assert 'clip 2 (seconds 10-15)' in warnings[0] and 'clip 3 (seconds 15-17)' in warnings[1]
    summary = json.load(open(osp.join(out_dir, 'summary.json')))
    assert summary['clips'] == 4
    assert summary['silent_clips'] == [dict(clip=2, start_s=10, end_s=15),
                                       dict(clip=3, start_s=15, end_s=17)]
