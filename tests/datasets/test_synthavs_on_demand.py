"""Demo data is written on first use, completely or not at all."""
import os

import pytest

from catravs.datasets import S4Dataset, synthavs_on_demand

SMALL = dict(num_train=3, num_val=2, num_test=2, image_size=32)


def test_generated_on_first_use_then_reused(tmp_path):
    root = tmp_path / 'demo' / 'synthavs_s4'
    val = S4Dataset(data_root=str(root), split='val', synthesize=SMALL)
    assert len(val) == 2
    stamp = os.path.getmtime(root / 's4_meta_data.csv')
    test = S4Dataset(data_root=str(root), split='test', synthesize=SMALL)
    assert len(test) == 2
    assert os.path.getmtime(root / 's4_meta_data.csv') == stamp  # not written again
    assert [p.name for p in (tmp_path / 'demo').iterdir()] == ['synthavs_s4']  # no temp left


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    root = tmp_path / 'synthavs_s4'

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(synthavs_on_demand, 'make_synthavs', crash)
    with pytest.raises(KeyboardInterrupt):
        S4Dataset(data_root=str(root), split='val', synthesize=SMALL)
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_write_into_a_foreign_folder(tmp_path):
    (tmp_path / 'mine.txt').write_text('x')
    with pytest.raises(FileExistsError, match='has no s4_meta_data.csv'):
        S4Dataset(data_root=str(tmp_path), split='val', synthesize=SMALL)
