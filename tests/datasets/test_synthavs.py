"""SynthAVS: deterministic, in AVSBench's layouts, and the sound picks the object."""
from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf
import torch

from catravs.datasets.palette import voc_palette
from catravs.datasets.synthavs import make_synthavs
from catravs.datasets.synthavs_scene import KINDS, sample_clip
from catravs.datasets.transforms.audio import vggish_log_mel_clip


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*'))
            if p.is_file()}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_same_seed_gives_identical_bytes(tmp_path, subset):
    a = _files(Path(make_synthavs(tmp_path / 'a', subset, 3, 1, 1, seed=7)))
    b = _files(Path(make_synthavs(tmp_path / 'b', subset, 3, 1, 1, seed=7)))
    c = _files(Path(make_synthavs(tmp_path / 'c', subset, 3, 1, 1, seed=8)))
    assert a.keys() == b.keys() and len(a) > 10
    assert all(a[k] == b[k] for k in a)
    assert a != c


def test_s4_layout(s4_root):
    root = Path(s4_root)
    rows = _rows(root / 's4_meta_data.csv')
    with open(root / 's4_meta_data.csv') as f:
        assert f.readline().strip() == 'name,start,category,split'
    assert [r['split'] for r in rows].count('train') == 6
    kinds = {k.name for k in KINDS}
    for row in rows:
        name, cat, split = row['name'], row['category'], row['split']
        assert cat in kinds
        for t in range(1, 6):
            frame = cv2.imread(str(root / 'visual_frames' / split / cat / name / f'{name}_{t}.png'),
                               cv2.IMREAD_UNCHANGED)
            assert frame.shape == (64, 64, 3)
        masks = sorted((root / 'gt_masks' / split / cat / name).iterdir())
        expected = [f'{name}_1.png'] if split == 'train' else [f'{name}_{t}.png'
                                                               for t in range(1, 6)]
        assert [m.name for m in masks] == expected
        mask = cv2.imread(str(masks[0]), cv2.IMREAD_UNCHANGED)
        assert mask.ndim == 2 and set(np.unique(mask)) <= {0, 255} and mask.max() == 255
        wav, sr = sf.read(root / 'audio_wav' / split / cat / f'{name}.wav', dtype='int16')
        info = sf.info(root / 'audio_wav' / split / cat / f'{name}.wav')
        assert sr == 16000 and wav.shape == (80000,) and info.subtype == 'PCM_16'
        with open(root / 'audio_log_mel' / split / cat / f'{name}.pkl', 'rb') as f:
            log_mel = pickle.load(f)         # as AVSBench's loader reads it
        assert isinstance(log_mel, torch.Tensor) and log_mel.shape == (5, 1, 96, 64)
        assert log_mel.dtype == torch.float32


def test_s4_category_is_the_kind_sounding_in_frame_1(s4_root):
    root = Path(s4_root)
    for row in _rows(root / 's4_meta_data.csv'):
        name, cat, split = row['name'], row['category'], row['split']
        frame = cv2.imread(str(root / 'visual_frames' / split / cat / name / f'{name}_1.png'))
        mask = cv2.imread(str(root / 'gt_masks' / split / cat / name / f'{name}_1.png'), 0) > 0
        mean_rgb = frame[mask][:, ::-1].mean(axis=0)
        kind = min(KINDS, key=lambda k: np.abs(np.asarray(k.rgb) - mean_rgb).sum())
        assert kind.name == cat


def test_ms3_layout(ms3_root):
    root = Path(ms3_root)
    with open(root / 'ms3_meta_data.csv') as f:
        assert f.readline().strip() == 'video_id,split'
    for row in _rows(root / 'ms3_meta_data.csv'):
        name, split = row['video_id'], row['split']
        for t in range(1, 6):
            assert (root / 'visual_frames' / name / f'{name}.mp4_{t}.png').is_file()
            assert (root / 'gt_masks' / split / name / f'{name}_{t}.png').is_file()
        assert (root / 'audio_wav' / split / f'{name}.wav').is_file()
        assert (root / 'audio_log_mel' / split / f'{name}.pkl').is_file()


def test_avss_layout_and_palette(avss_root):
    root = Path(avss_root)
    with open(root / 'metadata.csv') as f:
        assert f.readline().strip() == 'vid,uid,s_min,s_sec,a_obj,split,label'
    label2idx = json.loads((root / 'label2idx.json').read_text())
    assert label2idx['background'] == 1                 # 1-based, as AVSBench's file
    assert sorted(label2idx.values()) == list(range(1, len(KINDS) + 2))
    rows = _rows(root / 'metadata.csv')
    assert {r['label'] for r in rows if r['split'] == 'train'} == {'v1s', 'v1m', 'v2'}
    palette = {tuple(c) for c in voc_palette(len(label2idx)).tolist()}
    for row in rows:
        base = root / row['label'] / row['uid']
        n = 10 if row['label'] == 'v2' else 5
        assert sorted(p.name for p in (base / 'frames').iterdir()) == sorted(
            f'{t}.jpg' for t in range(n))
        n_labels = 1 if (row['label'] == 'v1s' and row['split'] == 'train') else n
        assert sorted(p.name for p in (base / 'labels_rgb').iterdir()) == sorted(
            f'{t}.png' for t in range(n_labels))
        label = cv2.imread(str(base / 'labels_rgb' / '0.png'))[..., ::-1]
        colours = {tuple(c) for c in np.unique(label.reshape(-1, 3), axis=0).tolist()}
        assert colours <= palette and len(colours) >= 2
        assert sf.info(base / 'audio.wav').frames == n * 16000


def test_sound_identifies_the_sounding_object():
    """The log-mel example of second t peaks in a band set by the kind that sounds then."""
    band_of_kind: dict[int, set[int]] = {}
    changes = 0
    for seed in range(6):
        clip = sample_clip(np.random.default_rng(seed), 10, 64, max_sounding=1)
        log_mel, _ = vggish_log_mel_clip(torch.from_numpy(clip.waveform), 16000, 10)
        peaks = log_mel[:, 0].mean(dim=1).argmax(dim=1).tolist()
        for t in range(10):
            kind = clip.sounding_kinds(t)[0]
            band_of_kind.setdefault(kind, set()).add(peaks[t])
            assert clip.binary_mask(t).any()
        changes += sum(clip.sounding[t] != clip.sounding[t + 1] for t in range(9))
    assert len(band_of_kind) >= 4
    bands = {kind: sorted(b) for kind, b in band_of_kind.items()}
    # each kind has its own band (within one mel bin), far from the other kinds'
    for kind, b in bands.items():
        assert b[-1] - b[0] <= 1, bands
        for other, ob in bands.items():
            if other != kind:
                assert min(abs(x - y) for x in b for y in ob) >= 5, bands
    assert changes >= 10          # the sounding object often changes within a clip


@pytest.mark.parametrize('max_sounding', [1, 2])
def test_per_clip_sources_sound_through_the_whole_clip(tmp_path, max_sounding):
    """``sources='per_clip'``: every second's log-mel peaks in the same band, the masks
    of all frames show the same objects, and the default still switches sources."""
    for seed in range(4):
        clip = sample_clip(np.random.default_rng(seed), 10, 64, max_sounding=max_sounding,
                           sources='per_clip')
        assert len(clip.sounding) == 10 and len(set(clip.sounding)) == 1
        log_mel, _ = vggish_log_mel_clip(torch.from_numpy(clip.waveform), 16000, 10)
        peaks = log_mel[:, 0].mean(dim=1).argmax(dim=1)
        assert int(peaks.max() - peaks.min()) <= 1, peaks.tolist()
        for t in range(10):
            expected = clip.object_masks[t, list(clip.sounding[0])].any(axis=0)
            assert np.array_equal(clip.binary_mask(t) > 0, expected)
    root = Path(make_synthavs(tmp_path / 's4', 's4', 2, 2, 0, sources='per_clip'))
    assert json.loads((root / 'synthavs.json').read_text())['sources'] == 'per_clip'
    for row in _rows(root / 's4_meta_data.csv'):
        if row['split'] != 'val':
            continue
        rgb = np.asarray(next(k.rgb for k in KINDS if k.name == row['category']))
        for t in range(1, 6):
            stem = f"{row['name']}/{row['name']}_{t}.png"
            mask = cv2.imread(str(root / 'gt_masks' / 'val' / row['category'] / stem),
                              cv2.IMREAD_UNCHANGED) > 0
            frame = cv2.imread(str(root / 'visual_frames' / 'val' / row['category'] / stem))
            # every frame's mask covers the object of the clip's category (its colour)
            assert np.abs(frame[..., ::-1][mask].mean(axis=0) - rgb).max() < 10, (stem, t)
    with pytest.raises(ValueError, match='sources'):
        sample_clip(np.random.default_rng(0), 5, 64, sources='per_frame')


def test_objects_do_not_overlap_and_masks_follow_sound():
    clip = sample_clip(np.random.default_rng(0), 5, 64, max_sounding=2)
    assert clip.object_masks.sum(axis=1).max() == 1         # no pixel in two objects
    for t in range(5):
        expected = clip.object_masks[t, list(clip.sounding[t])].any(axis=0)
        assert np.array_equal(clip.binary_mask(t) > 0, expected)
        classes = set(np.unique(clip.class_map(t)).tolist()) - {0}
        assert classes == {clip.kinds[o] + 1 for o in clip.sounding[t]}


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='subset'):
        make_synthavs(tmp_path, 's5')
    with pytest.raises(ValueError, match='avss_labels'):
        make_synthavs(tmp_path, 'avss', avss_labels=('v3',))
    with pytest.raises(ValueError, match='image_size'):
        make_synthavs(tmp_path, 's4', 1, 0, 0, image_size=16)
