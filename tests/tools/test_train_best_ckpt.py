"""``tools/train.py --test`` scores the checkpoint that was best on val, not the last one.

A tiny run on SynthAVS whose val scores are forced by a metric registered in a plugin
module (val mIoU 0.2, 0.9, 0.5 for epochs 1..3): the best epoch is 2, not the last. The
test split keeps the real AVSBinaryMetric, and the --test result must equal tools/test.py
on best_mIoU_epoch_2.pth, and differ from tools/test.py on the last weights.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from catravs.datasets.synthavs import make_synthavs
from tests.conftest import REPO_ROOT
from tests.tools.test_train_test import CONFIG, run_tool_in_process, tiny_options

PLUGIN = '''
from mmengine.evaluator import BaseMetric

from catravs.registry import METRICS


@METRICS.register_module()
class ForcedValScore(BaseMetric):
    """Returns the given mIoU at its n-th evaluation, whatever the predictions."""

    def __init__(self, scores, **kwargs):
        super().__init__(**kwargs)
        self.scores = list(scores)
        self.calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        self.calls += 1
        return {'mIoU': self.scores[self.calls - 1], 'F-score': 0.0}
'''

FORCED = (0.2, 0.9, 0.5)
KEYS = ('mIoU', 'F-score', 'F-score(dataset)')


def read_test_metrics(work_dir: str) -> dict:
    """The test-split metrics of the newest run: MMEngine writes them to the run's own
    ``<timestamp>.json`` (not to ``vis_data/scalars.json``, which holds the val ones)."""
    runs = sorted(glob.glob(osp.join(work_dir, '2*')))
    path = osp.join(runs[-1], osp.basename(runs[-1]) + '.json')
    records = [json.loads(line) for line in open(path) if 'F-score(dataset)' in line]
    assert records, f'no test metrics in {path}'
    return {k: records[-1][k] for k in KEYS}



def run(args: list[str], cwd: str) -> str:
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([cwd, os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def run_dir(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp('best')
    data = make_synthavs(str(root / 's4'), 's4', num_train=4, num_val=2, num_test=3,
                         image_size=64)
    (root / 'forced_val_score.py').write_text(PLUGIN)
    (root / 'forced.py').write_text(
        f"_base_ = [{CONFIG!r}]\n"
        "custom_imports = dict(imports=['forced_val_score'], allow_failed_imports=False)\n"
        f"val_evaluator = dict(_delete_=True, type='ForcedValScore', scores={list(FORCED)})\n"
        "optim_wrapper = dict(optimizer=dict(lr=3e-3))\n"
        "param_scheduler = []\n")
    opts = [o for o in tiny_options(data) if not o.startswith('train_cfg.max_epochs')]
    opts += ['train_cfg.max_epochs=3', 'default_hooks.checkpoint.max_keep_ckpts=3']
    work = str(root / 'work')
    log = run([osp.join(REPO_ROOT, 'tools', 'train.py'), str(root / 'forced.py'),
               '--work-dir', work, '--test', '--cfg-options', *opts], cwd=str(root))
    return dict(root=str(root), work=work, log=log, opts=opts)


def run_test_tool(run_dir, ckpt: str, name: str) -> dict:
    work = osp.join(run_dir['root'], name)
    run([osp.join(REPO_ROOT, 'tools', 'test.py'), osp.join(run_dir['root'], 'forced.py'),
         ckpt, '--work-dir', work, '--cfg-options', *run_dir['opts']], cwd=run_dir['root'])
    return read_test_metrics(work)


def evaluate_in_process(run_dir, ckpt: str, name: str, monkeypatch) -> dict:
    """:func:`run_test_tool` as tools/test.py's ``main()`` in this process; what the
    config's plugin registers (``ForcedValScore``) is removed afterwards."""
    from catravs.registry import METRICS
    work = osp.join(run_dir['root'], name)
    monkeypatch.syspath_prepend(run_dir['root'])
    registered = set(METRICS._module_dict)
    try:
        run_tool_in_process(osp.join(REPO_ROOT, 'tools', 'test.py'),
                            [osp.join(run_dir['root'], 'forced.py'), ckpt, '--work-dir', work,
                             '--cfg-options', *run_dir['opts']], run_dir['root'], monkeypatch)
    finally:
        for key in set(METRICS._module_dict) - registered:
            del METRICS._module_dict[key]
        sys.modules.pop('forced_val_score', None)
    return read_test_metrics(work)


@pytest.mark.slow   # a 3-epoch run and two tools/test.py runs (one in this process)
def test_train_test_scores_the_val_best_checkpoint(run_dir, monkeypatch):
    work, log = run_dir['work'], run_dir['log']
    best = osp.join(work, 'best_mIoU_epoch_2.pth')
    assert osp.isfile(best) and osp.isfile(osp.join(work, 'epoch_3.pth'))
    assert f'testing {best}' in log
    tested = read_test_metrics(work)                    # the --test evaluation
    by_best = run_test_tool(run_dir, best, 'test_best')
    by_last = evaluate_in_process(run_dir, osp.join(work, 'epoch_3.pth'), 'test_last',
                                 monkeypatch)
    assert tested == by_best
    # the check can tell the two apart: epoch 3's weights score differently
    assert by_last != by_best


def load_train_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'catravs_train_tool', osp.join(REPO_ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_best_checkpoint_with_one_or_several_save_best_keys():
    from types import SimpleNamespace

    from mmengine.hooks import CheckpointHook
    best_checkpoint = load_train_tool().best_checkpoint

    def runner(info, save_best):
        hook = CheckpointHook(interval=1, save_best=save_best, rule='greater')
        return SimpleNamespace(message_hub=SimpleNamespace(runtime_info=info), hooks=[hook])

    assert best_checkpoint(runner({'best_ckpt': 'a.pth'}, 'mIoU')) == 'a.pth'
    several = {'best_ckpt_F-score': 'f.pth', 'best_ckpt_mIoU': 'm.pth'}
    assert best_checkpoint(runner(several, ['F-score', 'mIoU'])) == 'f.pth'
    assert best_checkpoint(runner({}, 'mIoU')) is None
    assert best_checkpoint(runner({}, None)) is None
