"""tools/slurm_train.sh: what it hands ``srun``, with a stand-in ``srun`` on PATH that
writes down its arguments and environment instead of starting a job."""
from __future__ import annotations

import os
import os.path as osp
import subprocess

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = osp.join(REPO_ROOT, 'tools', 'slurm_train.sh')
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
FAKE_SRUN = """#!/usr/bin/env bash
# one argument per line, then the environment the job would see
printf '%s\\n' "$@" > "$SRUN_RECORD"
env > "$SRUN_RECORD.env"
"""


@pytest.fixture
def fake_srun(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    record = tmp_path / 'srun_args'

    def run(*args: str, cwd=None, **env: str) -> tuple[subprocess.CompletedProcess, list, dict]:
        base = {k: v for k, v in os.environ.items()
                if k not in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS', 'SYNC_BN',
                             'PYTHON')}
        full_env = dict(base, PATH=f'{bin_dir}{os.pathsep}{base["PATH"]}',
                        SRUN_RECORD=str(record), **env)
        if record.exists():
            record.unlink()
        proc = subprocess.run(['bash', SCRIPT, *args], env=full_env, capture_output=True,
                              text=True, timeout=60, cwd=cwd or str(tmp_path))
        if not record.exists():
            return proc, None, None
        argv = record.read_text().splitlines()
        seen_env = dict(line.split('=', 1) for line in
                        open(f'{record}.env').read().splitlines() if '=' in line)
        return proc, argv, seen_env

    return run


def test_defaults_and_passed_through_arguments(fake_srun, tmp_path):
    proc, argv, env = fake_srun('dev', 'catr_s4', 'configs/catr/catr_pvt_s4.py',
                                '--work-dir', 'work dirs/s4', '--amp', '--cfg-options',
                                'train_dataloader.batch_size=2')
    assert proc.returncode == 0, proc.stderr
    assert argv == [
        '-p', 'dev', '--job-name=catr_s4', '--gres=gpu:8', '--ntasks=8',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        'python', '-u', TRAIN, 'configs/catr/catr_pvt_s4.py', '--launcher', 'slurm',
        '--work-dir', 'work dirs/s4', '--amp', '--cfg-options',
        'train_dataloader.batch_size=2']
    assert env['SRUN_RECORD'] == str(tmp_path / 'srun_args')  # the caller's environment


def test_environment_settings(fake_srun, tmp_path):
    """GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS (split into flags), SYNC_BN, PYTHON;
    train.py found from any working directory."""
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    proc, argv, _ = fake_srun('gpu', 'job', 'cfg.py', '--resume', cwd=str(elsewhere),
                              GPUS='4', GPUS_PER_NODE='2', CPUS_PER_TASK='3',
                              SRUN_ARGS='--quotatype=auto --exclusive', SYNC_BN='1',
                              PYTHON='/opt/py/bin/python3')
    assert proc.returncode == 0, proc.stderr
    assert argv == [
        '-p', 'gpu', '--job-name=job', '--gres=gpu:2', '--ntasks=4', '--ntasks-per-node=2',
        '--cpus-per-task=3', '--kill-on-bad-exit=1', '--quotatype=auto', '--exclusive',
        '/opt/py/bin/python3', '-u', TRAIN, 'cfg.py', '--launcher', 'slurm',
        '--cfg-options', 'sync_bn=torch', '--resume']


@pytest.mark.parametrize('value, expected', [('0', None), ('false', None), ('torch', 'torch'),
                                             ('true', 'torch'), ('mmcv', 'mmcv')])
def test_sync_bn_values(fake_srun, value, expected):
    proc, argv, _ = fake_srun('p', 'j', 'cfg.py', SYNC_BN=value)
    assert proc.returncode == 0, proc.stderr
    tail = argv[argv.index('slurm') + 1:]
    assert tail == ([] if expected is None else ['--cfg-options', f'sync_bn={expected}'])


@pytest.mark.parametrize('args, env, message', [
    (('p', 'j'), {}, 'usage: '),
    (('p', 'j', 'cfg.py'), {'SYNC_BN': 'yes'}, "SYNC_BN must be 0, 1, torch or mmcv, got 'yes'"),
])
def test_bad_arguments_stop_before_srun(fake_srun, args, env, message):
    proc, argv, _ = fake_srun(*args, **env)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert argv is None  # srun never ran
