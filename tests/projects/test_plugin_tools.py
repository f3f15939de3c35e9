"""The plugin config through tools/train.py, tools/test.py, tools/dist_train.sh and the API.

Every run starts outside the repository, with only the catravs package on the path
(as an installed package): the config loader finds ``projects`` on its own. Data: a tiny
generated SynthAVS S4 set, passed with ``--cfg-options ...data_root=``.
"""
from __future__ import annotations

import os.path as osp
import socket
import subprocess
import sys
import textwrap

import pytest
from mmengine.config import Config

from .conftest import clean_env, tiny_run_options

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECT_CFG = osp.join(REPO_ROOT, 'projects', 'gated_bicross_fusion', 'configs',
                       'catr_tiny_gated_bicross_synthavs.py')
PLUGIN = 'projects.gated_bicross_fusion.gated_bicross'
PLUGIN_KEY = 'fusion.layers.0.gate.weight'  # a parameter only GatedBiCrossFusion has


def run(cmd: list[str], cwd: str, env: dict | None = None,
        timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (f'{" ".join(cmd)} exited with {proc.returncode}\n'
                                  f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


def checkpoint_keys(path: str) -> set[str]:
    from catravs.engine.safe_checkpoint import safe_torch_load
    return set(safe_torch_load(path, map_location='cpu')['state_dict'])


def assert_trained_with_plugin(work_dir: str) -> str:
    """The work dir holds a checkpoint of a model whose fusion is GatedBiCrossFusion."""
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt), f'no checkpoint in {work_dir}'
    keys = checkpoint_keys(ckpt)
    assert PLUGIN_KEY in keys
    assert not any(k.startswith('fusion.temporal_blocks') for k in keys)  # not the CATR fusion
    dumped = Config.fromfile(osp.join(work_dir, osp.basename(PROJECT_CFG)),
                             import_custom_modules=False)
    assert dumped.model.fusion.type == 'GatedBiCrossFusion'
    assert dumped.custom_imports.imports == [PLUGIN]
    return ckpt


@pytest.mark.slow
def test_train_and_test_tools_from_another_directory(synthavs_s4, tmp_path, registry_guard):
    cwd = tmp_path / 'elsewhere'
    cwd.mkdir()
    work_dir = str(tmp_path / 'work')
    opts = tiny_run_options(synthavs_s4)
    run([sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), PROJECT_CFG,
         '--work-dir', work_dir, '--cfg-options', *opts], cwd=str(cwd))
    ckpt = assert_trained_with_plugin(work_dir)

    # the model the config builds (after its custom imports) uses the plugin's class, and
    # the checkpoint matches it exactly
    from catravs.apis import init_model
    model = init_model(osp.join(work_dir, osp.basename(PROJECT_CFG)), ckpt, strict=True)
    assert isinstance(model.fusion, sys.modules[PLUGIN].GatedBiCrossFusion)
    assert set(model.state_dict()) == checkpoint_keys(ckpt)

    proc = run([sys.executable, osp.join(REPO_ROOT, 'tools', 'test.py'), PROJECT_CFG, ckpt,
                '--work-dir', str(tmp_path / 'test'), '--cfg-options', *opts], cwd=str(cwd))
    assert 'Epoch(test)' in proc.stdout + proc.stderr and 'mIoU' in proc.stdout + proc.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_dist_train_two_cpu_processes(synthavs_s4, tmp_path):
    env = clean_env()
    env.update(PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    work_dir = str(tmp_path / 'work')
    proc = run(['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), PROJECT_CFG, '2',
                '--work-dir', work_dir, '--cfg-options', *tiny_run_options(synthavs_s4)],
               cwd=str(tmp_path), env=env)
    log = proc.stdout + proc.stderr
    # mmengine logs the world size as 'GPU number', also on CPU
    assert 'Distributed training: True' in log and 'GPU number: 2' in log, log[-3000:]
    # 8 clips, 2 per batch, split over 2 ranks: 2 iterations per epoch
    assert 'Epoch(train) [1][2/2]' in log, log[-3000:]
    assert_trained_with_plugin(work_dir)


@pytest.mark.slow
def test_python_api_from_another_directory(synthavs_s4, tmp_path):
    options = {}
    for opt in tiny_run_options(synthavs_s4):
        key, value = opt.split('=', 1)
        options[key] = int(value) if value.isdigit() else (value == 'True' if value in (
            'True', 'False') else value)
    work_dir = str(tmp_path / 'work')
    script = textwrap.dedent(f"""
        import sys
        from catravs.apis import init_model, train
        runner = train({PROJECT_CFG!r}, {options!r}, work_dir={work_dir!r})
        model = init_model({PROJECT_CFG!r}, {osp.join(work_dir, 'epoch_1.pth')!r},
                           cfg_options={options!r})
        cls = sys.modules[{PLUGIN!r}].GatedBiCrossFusion
        assert isinstance(runner.model.fusion, cls), type(runner.model.fusion)
        assert isinstance(model.fusion, cls) and not model.training
        print('API OK')
        """)
    proc = run([sys.executable, '-c', script], cwd=str(tmp_path))
    assert 'API OK' in proc.stdout
    assert_trained_with_plugin(work_dir)
