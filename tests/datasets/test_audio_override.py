"""audio_override: 'silence' and 'shuffle' (a seeded derangement of the clips' audio)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from catravs.datasets import MS3Dataset, S4Dataset, seeded_derangement
from catravs.datasets.transforms import silence_log_mel


@pytest.mark.parametrize('num', [2, 3, 7, 50])
def test_derangement_has_no_fixed_point(num):
    for seed in range(5):
        perm = seeded_derangement(num, seed)
        assert sorted(perm) == list(range(num))
        assert all(perm[i] != i for i in range(num))
    assert seeded_derangement(num, 3) == seeded_derangement(num, 3)


def test_derangement_needs_two_clips():
    with pytest.raises(ValueError, match='at least 2'):
        seeded_derangement(1, 0)


def test_silence(s4_root, s4_pipeline):
    ds = S4Dataset(data_root=s4_root, split='train', pipeline=s4_pipeline,
                   audio_override='silence')
    out = ds[0]
    audio = out['inputs']['audio']
    assert out['data_samples'].audio_silence is True
    assert torch.allclose(audio, torch.tensor(silence_log_mel()).expand(5, 1, 96, 64))
    assert torch.allclose(audio, torch.full_like(audio, float(np.log(0.01))), atol=1e-6)
    normal = S4Dataset(data_root=s4_root, split='train', pipeline=s4_pipeline)[0]
    assert not torch.allclose(normal['inputs']['audio'], audio)


def test_shuffle_gives_another_clips_audio(s4_root, s4_pipeline):
    plain = S4Dataset(data_root=s4_root, split='train', pipeline=s4_pipeline)
    shuf = S4Dataset(data_root=s4_root, split='train', pipeline=s4_pipeline,
                     audio_override='shuffle', audio_override_seed=0)
    by_clip = {plain.get_data_info(i)['clip_id']: plain.get_data_info(i) for i in range(len(plain))}
    donors = []
    for i in range(len(shuf)):
        info = shuf.get_data_info(i)
        own = by_clip[info['clip_id']]
        assert info['audio_clip_id'] != info['clip_id']
        assert info['log_mel_path'] != own['log_mel_path']
        assert info['wav_path'] != own['wav_path']
        donor = by_clip[info['audio_clip_id']]
        assert (info['wav_path'], info['log_mel_path']) == (donor['wav_path'],
                                                             donor['log_mel_path'])
        assert info['frame_paths'] == own['frame_paths']          # visuals unchanged
        donors.append(info['audio_clip_id'])
    assert sorted(donors) == sorted(by_clip)                      # a permutation
    # the loaded audio is the donor's
    i = 0
    donor_idx = [plain.get_data_info(j)['clip_id'] for j in range(len(plain))].index(donors[i])
    assert torch.equal(shuf[i]['inputs']['audio'], plain[donor_idx]['inputs']['audio'])
    assert not torch.equal(shuf[i]['inputs']['audio'], plain[i]['inputs']['audio'])


def test_shuffle_is_deterministic_per_seed(ms3_root):
    def donors(seed: int) -> list[str]:
        ds = MS3Dataset(data_root=ms3_root, split='train', audio_override='shuffle',
                        audio_override_seed=seed, serialize_data=False)
        return [ds.get_data_info(i)['audio_clip_id'] for i in range(len(ds))]

    assert donors(0) == donors(0)
    assert len({tuple(donors(seed)) for seed in range(6)}) > 1
