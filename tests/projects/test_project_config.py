"""The project config: inherits the demo config, swaps the fusion, works from any directory."""
from __future__ import annotations

import os.path as osp
import subprocess
import sys

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

from catravs.analysis.module_listing import list_registered
from catravs.apis import load_config
from catravs.registry import MODELS

from .conftest import clean_env

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECT_CFG = osp.join(REPO_ROOT, 'projects', 'gated_bicross_fusion', 'configs',
                       'catr_tiny_gated_bicross_synthavs.py')
PLUGIN = 'projects.gated_bicross_fusion.gated_bicross'


def test_config_from_another_directory_builds_the_plugin_fusion(tmp_path, monkeypatch,
                                                                registry_guard, make_batch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(PROJECT_CFG)
    assert cfg.custom_imports == dict(imports=[PLUGIN], allow_failed_imports=False)
    assert cfg.model.fusion.type == 'GatedBiCrossFusion'
    assert 'temporal_feedforward' not in cfg.model.fusion  # _delete_ dropped the base's args
    assert cfg.model.decoder.type == 'AudioQueriedDecoder'  # the rest is inherited
    assert cfg.train_dataloader.dataset.data_root == 'data/synthavs_s4'
    with DefaultScope.overwrite_default_scope('catravs'):
        model = MODELS.build(cfg.model)
    assert isinstance(model.fusion, sys.modules[PLUGIN].GatedBiCrossFusion)
    assert 'GatedBiCrossFusion' in list_registered()['fusion']
    torch.manual_seed(0)
    before = model.fusion.layers[0].gate.weight.detach().clone()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    losses = model.train_step(make_batch(batch=1, frames=5, size=64), optim)
    assert all(torch.isfinite(v) for v in losses.values())
    assert not torch.equal(before, model.fusion.layers[0].gate.weight)  # the gate learns


def test_list_modules_shows_the_plugin(tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'misc', 'list_modules.py'),
         '--category', 'fusion', '--config', PROJECT_CFG],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'GatedBiCrossFusion' in proc.stdout and 'CombinatorialDependenceFusion' in proc.stdout


def test_load_config_takes_a_config_object(registry_guard):
    from mmengine.config import Config
    raw = Config.fromfile(PROJECT_CFG, import_custom_modules=False)
    assert 'GatedBiCrossFusion' not in MODELS.module_dict
    epochs = raw.train_cfg.max_epochs
    cfg = load_config(raw, {'train_cfg.max_epochs': epochs + 1})
    assert 'GatedBiCrossFusion' in MODELS.module_dict  # its custom_imports were imported
    assert cfg.train_cfg.max_epochs == epochs + 1
    assert raw.train_cfg.max_epochs == epochs  # the override went to a copy
