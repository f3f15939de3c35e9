"""The ablation configs (configs/catr/ablations/): one data setting for every row.

The rows are only comparable if they train and score on the same clips; and they must
use SynthAVS with one sound source per clip, where CATR can use the sound at all (its
fusion gives each frame the clip's audio tokens without time positions).
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from catravs.analysis.complexity import strip_pretrained
from catravs.registry import MODELS
from tests.conftest import REPO_ROOT

ABLATIONS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'catr', 'ablations', 'catr_*.py')))
SPLITS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def test_there_are_ablations():
    assert len(ABLATIONS) >= 8


@pytest.mark.parametrize('path', ABLATIONS, ids=osp.basename)
def test_ablation_differs_from_full_only_in_the_model(path):
    cfg = Config.fromfile(path)
    full = Config.fromfile(osp.join(osp.dirname(path), 'catr_tiny_full.py'))
    for key in (*SPLITS, 'optim_wrapper', 'train_cfg', 'param_scheduler', 'randomness',
                'val_evaluator', 'test_evaluator'):
        assert cfg[key] == full[key], key
    roots = {cfg[split].dataset.data_root for split in SPLITS}
    synth = [cfg[split].dataset.synthesize for split in SPLITS]
    assert roots == {'data/synthavs_s4_per_clip'}
    assert all(s == synth[0] for s in synth) and synth[0]['sources'] == 'per_clip'
    MODELS.build(strip_pretrained(cfg.model))
