"""``--resume`` after SIGKILL ends with the same weights as an uninterrupted run.

Three ``tools/train.py`` runs on a tiny CATR and a tiny SynthAVS: B (a process) is
killed with SIGKILL once a checkpoint from iteration 4 on exists (validation at
iteration 4 has run, epochs of 3 iterations have turned), then resumed with
``--resume`` (a process); meanwhile A trains 8 iterations uninterrupted (the tool's
``main()`` in the test process). The final weights and optimizer state of A and B
must be bit-identical (CPU, deterministic kernels, one thread per run). Augmentation
(random flips: in the main process with ``num_workers=0``, in a persistent worker
process with ``num_workers=1``), dropout and the data order all draw random numbers.
"""
from __future__ import annotations

import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from catravs.engine.checkpoint_io import read_last_checkpoint
from catravs.engine.safe_checkpoint import safe_torch_load
from tests.conftest import REPO_ROOT

MAX_ITERS = 8
TINY_CONFIG = '''
_base_ = [{base!r}]
data_root = {data_root!r}
d_model = 32
model = dict(
    d_model=d_model, audio_dropout=0.1,
    backbone=dict(type='TinyConvBackbone', out_channels=(8, 16, 16, 32)),
    neck=dict(out_channels=d_model, dilations=(1, 2)),
    audio_encoder=dict(type='TinyAudioEncoder', out_channels=16, channels=(4, 8, 8)),
    fusion=dict(d_model=d_model, nhead=4, num_layers=1, dim_feedforward=32,
                temporal_feedforward=32, dropout=0.1),
    decoder=dict(num_queries=4, d_model=d_model, nhead=4, num_layers=2, dim_feedforward=32,
                 dropout=0.1),
    head=dict(channels=d_model, mask_dim=8))
train_pipeline = [
    dict(type='LoadClipFrames'), dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'), dict(type='ClipRandomFlip', prob=0.5),
    dict(type='PackAVSInputs')]
test_pipeline = [
    dict(type='LoadClipFrames'), dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'), dict(type='PackAVSInputs')]
_loader = dict(num_workers={workers}, persistent_workers={workers} > 0)
train_dataloader = dict(batch_size=2, **_loader,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, **_loader,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(batch_size=1, **_loader,
                       dataset=dict(data_root=data_root, pipeline=test_pipeline))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={max_iters},
                 val_interval=4)
param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0,
                        end={max_iters})]
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=2))
randomness = dict(seed=7, deterministic=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
'''


def write_tiny_config(path: str, data_root: str, workers: int = 0,
                      max_iters: int = MAX_ITERS) -> str:
    base = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')
    with open(path, 'w') as f:
        f.write(TINY_CONFIG.format(base=base, data_root=data_root, workers=workers,
                                   max_iters=max_iters))
    return path


def single_thread_env() -> dict:
    """One compute thread per process: bit-exact, and two runs share 2 cores well."""
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    return env


def train_cmd(config: str, work_dir: str, *extra: str) -> list[str]:
    return [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), config,
            '--work-dir', work_dir, *extra]


def last_step(work_dir: str) -> int:
    """The iteration of the checkpoint that ``last_checkpoint`` names (0: none yet)."""
    try:
        named = read_last_checkpoint(work_dir)
    except OSError:
        return 0
    if not named:
        return 0
    return int(osp.splitext(osp.basename(named))[0].split('_')[-1])


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory) -> str:
    from catravs.datasets.synthavs import make_synthavs
    return make_synthavs(tmp_path_factory.mktemp('synthavs'), 's4', num_train=6, num_val=3,
                         num_test=3, image_size=32, seed=0)


def compare_checkpoints(path_a: str, path_b: str) -> float:
    """Assert equal weights and optimizer state; return the largest weight difference."""
    a, b = safe_torch_load(path_a), safe_torch_load(path_b)
    assert a['meta']['iter'] == b['meta']['iter'] == MAX_ITERS
    assert a['state_dict'].keys() == b['state_dict'].keys()
    max_diff = 0.0
    different = []
    for key, wa in a['state_dict'].items():
        wb = b['state_dict'][key]
        if wa.is_floating_point():
            max_diff = max(max_diff, (wa.double() - wb.double()).abs().max().item())
        if not torch.equal(wa, wb):
            different.append(key)
    print(f'\nresume after SIGKILL: {len(a["state_dict"])} tensors, max abs weight '
          f'difference {max_diff:.3g}, {len(different)} differ')
    assert not different, f'weights differ after resume: {different[:5]}'
    states_a, states_b = a['optimizer']['state'], b['optimizer']['state']
    assert states_a.keys() == states_b.keys()
    for idx in states_a:
        for name, value in states_a[idx].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(states_b[idx][name]))
    return max_diff


@pytest.mark.slow
@pytest.mark.parametrize('workers', [0, 1], ids=['main_process_data', 'persistent_worker'])
def test_resume_after_sigkill_is_bit_exact(tiny_data, tmp_path, workers, monkeypatch):
    from tests.tools.test_train_test import run_tool_in_process
    config = write_tiny_config(str(tmp_path / 'tiny_resume.py'), tiny_data, workers)
    env = single_thread_env()
    dir_a, dir_b = str(tmp_path / 'uninterrupted'), str(tmp_path / 'killed')
    logs = {name: open(tmp_path / f'{name}.log', 'w') for name in ('b', 'resume')}
    try:
        run_b = subprocess.Popen(train_cmd(config, dir_b), cwd=tmp_path, env=env,
                                 stdout=logs['b'], stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while run_b.poll() is None and last_step(dir_b) < 4:
            assert time.monotonic() < deadline, 'run B made no checkpoint in time'
            time.sleep(0.01)
        run_b.send_signal(signal.SIGKILL)
        assert run_b.wait() == -signal.SIGKILL, 'run B ended before it could be killed'
        killed_at = last_step(dir_b)
        assert 4 <= killed_at < MAX_ITERS

        resume = subprocess.Popen(train_cmd(config, dir_b, '--resume'), cwd=tmp_path, env=env,
                                  stdout=logs['resume'], stderr=subprocess.STDOUT)
        run_tool_in_process(train_cmd(config, dir_a)[1], train_cmd(config, dir_a)[2:],
                            str(tmp_path), monkeypatch)
        resume.wait(timeout=300)
    finally:
        for proc in ('run_b', 'resume'):
            p = locals().get(proc)
            if p is not None and p.poll() is None:
                p.kill()
        for f in logs.values():
            f.close()
    resume_log = (tmp_path / 'resume.log').read_text()
    assert resume.returncode == 0, resume_log[-3000:]
    assert re.search(rf'resumed epoch: \d+, iter: {killed_at}\n', resume_log)

    max_diff = compare_checkpoints(osp.join(dir_a, f'iter_{MAX_ITERS}.pth'),
                                   osp.join(dir_b, f'iter_{MAX_ITERS}.pth'))
    assert max_diff == 0.0
    assert 'random state of rank 0 restored' in resume_log
