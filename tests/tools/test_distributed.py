"""Multi-process training and testing on the CPU (gloo) through the shell launchers.

* ``tools/dist_train.sh CONFIG 2`` trains two processes to the end (with
  ``SYNC_BN=1``, which a CPU-only machine drops with a warning);
* ``tools/dist_test.sh CONFIG CKPT 2`` on 5 test clips (odd: rank 1 gets a
  padded, repeated clip) gives exactly the metrics of one process, and its
  per-category table counts each clip once;
* two "nodes" of one process each (NNODES=2, NODE_RANK=0/1 on loopback, each in
  its own working directory) train and validate to the end.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.engine.test_resume import single_thread_env, write_tiny_config
from tests.tools.test_train_test import run_log, run_tool_in_process

TOOLS = osp.join(REPO_ROOT, 'tools')
NUM_TEST_CLIPS = 5


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def launcher_env(**extra: str) -> dict:
    env = single_thread_env()
    env.update(PYTHON=sys.executable, MASTER_ADDR='127.0.0.1', PORT=str(free_port()), **extra)
    return env


def run(cmd: list[str], cwd, env: dict, timeout: int = 300) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{log[-4000:]}'
    return log


def read_test_metrics(work_dir: str) -> dict:
    """The metrics that ``runner.test()`` dumped (full precision) in the work dir."""
    dumps = glob.glob(osp.join(work_dir, '*', '*.json'))
    assert len(dumps) == 1, dumps
    with open(dumps[0]) as f:
        metrics = json.loads(f.read().splitlines()[-1])
    return {k: v for k, v in metrics.items() if k not in ('time', 'data_time')}


def table_clip_count(log: str) -> int:
    """Sum of the 'clips' column of the per-category table that AVSBinaryMetric logs."""
    rows = re.findall(r'^\| (\S+)\s+\| (\d+)\s+\| (\d+)\s+\|', log, flags=re.M)
    assert rows, 'no per-category table in the log'
    return sum(int(clips) for _, clips, _ in rows)


@pytest.fixture(scope='module')
def dist_config(tmp_path_factory) -> str:
    from catravs.datasets.synthavs import make_synthavs
    root = tmp_path_factory.mktemp('dist')
    data = make_synthavs(root / 'data', 's4', num_train=4, num_val=3,
                         num_test=NUM_TEST_CLIPS, image_size=32, seed=3)
    config = write_tiny_config(str(root / 'dist_tiny.py'), data, max_iters=2)
    with open(config, 'a') as f:
        f.write("test_evaluator = dict(type='AVSBinaryMetric', per_category_results=True)\n"
                'randomness = dict(seed=7, deterministic=False)\n')
    return config


@pytest.mark.slow
def test_two_process_train_then_test_matches_one_process(dist_config, tmp_path, monkeypatch):
    """The one-process evaluation is ``tools/test.py``'s ``main()`` in this process, with
    one torch thread like the two launched ones."""
    train_dir = str(tmp_path / 'train')
    log = run(['bash', osp.join(TOOLS, 'dist_train.sh'), dist_config, '2',
               '--work-dir', train_dir], tmp_path, launcher_env(SYNC_BN='1'))
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert "sync_bn='torch' needs CUDA" in log  # SYNC_BN=1 reached the config
    checkpoint = osp.join(train_dir, 'iter_2.pth')
    assert osp.isfile(checkpoint)

    two = str(tmp_path / 'test2')
    log_two = run(['bash', osp.join(TOOLS, 'dist_test.sh'), dist_config, checkpoint, '2',
                   '--work-dir', two], tmp_path, launcher_env())
    one = str(tmp_path / 'test1')
    run_tool_in_process(osp.join(TOOLS, 'test.py'), [dist_config, checkpoint, '--work-dir', one],
                        str(tmp_path), monkeypatch)
    log_one = run_log(one)
    metrics_one, metrics_two = read_test_metrics(one), read_test_metrics(two)
    print(f'\n1 process: {metrics_one}\n2 processes: {metrics_two}')
    assert metrics_one.keys() == metrics_two.keys() and len(metrics_one) > 3
    assert metrics_two == metrics_one  # same clips, same arithmetic: bit-identical
    assert metrics_one['F-score'] > 0  # something to compare
    assert table_clip_count(log_one) == table_clip_count(log_two) == NUM_TEST_CLIPS


@pytest.mark.slow
def test_two_nodes_on_loopback(dist_config, tmp_path):
    work_dir = str(tmp_path / 'work')
    env = launcher_env(NNODES='2')
    # validation at the last iteration: the metric gathers the ranks' records through the
    # process group, so the nodes (each in its own working directory) share no folder
    cmd = ['bash', osp.join(TOOLS, 'dist_train.sh'), dist_config, '1', '--work-dir', work_dir,
           '--cfg-options', 'train_cfg.val_interval=2']
    logs = [open(tmp_path / f'node{rank}.log', 'w') for rank in (0, 1)]
    cwds = [tmp_path / f'node{rank}' for rank in (0, 1)]
    for cwd in cwds:
        cwd.mkdir()
    nodes = [subprocess.Popen(cmd, cwd=cwds[rank], env=dict(env, NODE_RANK=str(rank)),
                              stdout=logs[rank], stderr=subprocess.STDOUT) for rank in (0, 1)]
    try:
        codes = [node.wait(timeout=300) for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
        for f in logs:
            f.close()
    node0 = (tmp_path / 'node0.log').read_text()
    assert codes == [0, 0], node0[-3000:] + (tmp_path / 'node1.log').read_text()[-3000:]
    assert 'GPU number: 2' in node0  # one world of two processes
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    assert re.search(r'Iter\(val\) \[\d+/\d+\]\s+mIoU: [\d.]+', node0), node0[-3000:]


# --------------------------------------------------------------------------- fast checks
@pytest.mark.parametrize('args, env, message', [
    (['cfg.py'], {}, 'usage'),
    (['cfg.py', 'two'], {}, 'GPUS must be a positive integer'),
    (['cfg.py', '0'], {}, 'GPUS must be a positive integer'),
    (['cfg.py', '2'], {'SYNC_BN': 'yes'}, 'SYNC_BN must be'),
])
def test_dist_train_rejects_bad_arguments(args, env, message, tmp_path):
    proc = subprocess.run(['bash', osp.join(TOOLS, 'dist_train.sh'), *args], cwd=tmp_path,
                          env=dict(os.environ, **env), capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr


def test_cpu_config_drops_sync_bn_and_refuses_slurm(dist_config, monkeypatch):
    import torch

    from catravs.apis.runner_setup import runner_config
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    args = argparse.Namespace(config=dist_config, cfg_options={'sync_bn': 'torch'},
                              launcher='none', work_dir=None, local_rank=0)
    cfg = runner_config(args)
    assert cfg.sync_bn is None and cfg.env_cfg.dist_cfg.backend == 'gloo'
    with pytest.raises(RuntimeError, match='launch with torchrun'):
        runner_config(argparse.Namespace(**{**vars(args), 'launcher': 'slurm'}))


FINISH_SCRIPT = """
import glob, sys
import torch, torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from catravs.apis.runner_setup import finish_distributed

def gloo_threads():
    return sum(open(t + '/comm').read().startswith('pt_gloo')
               for t in glob.glob('/proc/self/task/*'))

class Runner:  # a runner, as MMEngine's: its parts point back at it (a reference cycle)
    def __init__(self):
        self.model = DistributedDataParallel(torch.nn.Linear(3, 1))
        self.hooks = [self]

def main():
    runner = Runner()
    runner.model(torch.randn(4, 3)).sum().backward()  # the reducer's all-reduce

dist.init_process_group('gloo', init_method='file://' + sys.argv[1], rank=0, world_size=1)
main()
print('before', gloo_threads())
finish_distributed()
print('after', gloo_threads(), dist.is_initialized())
"""


@pytest.mark.skipif(not osp.isdir('/proc/self/task'), reason='counts threads through /proc')
def test_finish_distributed_stops_the_gloo_threads(tmp_path):
    """The tools end a distributed run with no gloo worker thread left for interpreter
    shutdown, where one made a finished rank abort (SIGABRT): the group is destroyed
    after the runner (in a reference cycle, holding the DDP wrapper) is freed."""
    from catravs.apis.runner_setup import finish_distributed
    finish_distributed()  # no group: nothing to do
    proc = subprocess.run([sys.executable, '-c', FINISH_SCRIPT, str(tmp_path / 'store')],
                          cwd=REPO_ROOT, env=single_thread_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    before, after = proc.stdout.split('\n')[:2]
    assert before.split()[1] != '0', proc.stdout  # the check sees the threads
    assert after == 'after 0 False', proc.stdout
