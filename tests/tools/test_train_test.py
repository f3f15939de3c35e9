"""tools/train.py and tools/test.py end to end on a tiny generated SynthAVS (CPU)."""
from __future__ import annotations

import glob
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from catravs.datasets.synthavs import make_synthavs
from catravs.engine import safe_torch_load
from tests.conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')
#: one worker trains the module's tiny run, once (pytest-xdist --dist loadgroup)
pytestmark = pytest.mark.xdist_group('train_test_tool')


def tiny_options(data_root: str) -> list[str]:
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'model.decoder.num_queries=4',
            'default_hooks.logger.interval=1']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.batch_size=2',
                 f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    return opts


def run_tool(args: list[str], cwd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def run_tool_in_process(tool: str, args: list[str], cwd: str, monkeypatch) -> None:
    """``python TOOL *args`` (run from ``cwd``) as a call of the tool's ``main()`` in this
    process, with one torch thread as :func:`run_tool`'s subprocesses; the process's torch
    thread count, random states and deterministic-algorithms flag (which the runner's
    randomness settings change) are restored afterwards. An error leaves ``main()`` as
    the exception that would end the subprocess."""
    import random

    import numpy as np
    import torch
    spec = importlib.util.spec_from_file_location(
        f'catravs_tool_{osp.splitext(osp.basename(tool))[0]}', tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, 'argv', [tool, *args])
    monkeypatch.chdir(cwd)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    states = torch.get_rng_state(), np.random.get_state(), random.getstate()
    torch.set_num_threads(1)
    try:
        module.main()
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])


def run_log(work_dir: str) -> str:
    """The text log of the newest run under ``work_dir`` (``<timestamp>/<timestamp>.log``)."""
    runs = sorted(glob.glob(osp.join(work_dir, '2*')))
    assert runs, f'no run folder under {work_dir}'
    with open(osp.join(runs[-1], osp.basename(runs[-1]) + '.log')) as f:
        return f.read()


def last_scalars(work_dir: str) -> dict:
    """The metrics of the latest evaluation, from the newest run's json log."""
    runs = sorted(glob.glob(osp.join(work_dir, '2*')))
    assert runs, f'no run folder under {work_dir}'
    files = sorted(glob.glob(osp.join(runs[-1], 'vis_data', 'scalars.json')) +
                   glob.glob(osp.join(runs[-1], '*.json')))
    records = [json.loads(line) for path in files for line in open(path) if 'mIoU' in line]
    assert records, f'no metrics logged under {runs[-1]}'
    return records[-1]


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthavs') / 's4')
    return make_synthavs(root, 's4', num_train=6, num_val=3, num_test=3, image_size=64)


@pytest.fixture(scope='module')
def trained(tiny_data, tmp_path_factory) -> str:
    work_dir = str(tmp_path_factory.mktemp('work'))
    proc = run_tool([osp.join(REPO_ROOT, 'tools', 'train.py'), CONFIG, '--work-dir', work_dir,
                     '--test', '--cfg-options', *tiny_options(tiny_data)], cwd=work_dir)
    assert 'Epoch(val) [1]' in proc.stdout + proc.stderr
    return work_dir


def test_train_saves_checkpoints_and_evaluates(trained):
    assert osp.isfile(osp.join(trained, 'epoch_1.pth'))
    assert glob.glob(osp.join(trained, 'best_mIoU_epoch_*.pth'))
    scalars = last_scalars(trained)  # the --test run
    assert 0.0 <= scalars['mIoU'] <= 1.0 and 0.0 <= scalars['F-score'] <= 1.0
    # the checkpoint loads back with the safe loader and holds the model weights
    ckpt = safe_torch_load(osp.join(trained, 'epoch_1.pth'), map_location='cpu')
    assert any(k.startswith('fusion.') for k in ckpt['state_dict'])


def test_test_tool_writes_avsbench_layout(trained, tiny_data, tmp_path):
    out_dir, show_dir = str(tmp_path / 'pred'), str(tmp_path / 'show')
    ckpt = osp.join(trained, 'epoch_1.pth')
    run_tool([osp.join(REPO_ROOT, 'tools', 'test.py'), CONFIG, ckpt, '--work-dir', str(tmp_path),
              '--out-dir', out_dir, '--show-dir', show_dir, '--cfg-options',
              *tiny_options(tiny_data)], cwd=str(tmp_path))
    # S4 layout: {category}/{name}/{name}_{i}.png for every labelled test frame
    gt = sorted(glob.glob(osp.join(tiny_data, 'gt_masks', 'test', '*', '*', '*.png')))
    written = sorted(glob.glob(osp.join(out_dir, '*', '*', '*.png')))
    assert len(gt) == 15 and [osp.relpath(p, osp.join(tiny_data, 'gt_masks', 'test'))
                             for p in gt] == [osp.relpath(p, out_dir) for p in written]
    assert len(glob.glob(osp.join(show_dir, '*.jpg'))) == 3
    assert 'mIoU' in last_scalars(str(tmp_path))


def test_score_dir_rescored_under_the_released_protocols(trained, tiny_data, tmp_path, capsys):
    """tools/test.py --score-dir, then score_protocols.py: CATR's protocol (1 clip per
    batch) and the per-dataset row give back the test run's own metric values."""
    score_dir, out = str(tmp_path / 'scores'), str(tmp_path / 'protocols.json')
    run_tool([osp.join(REPO_ROOT, 'tools', 'test.py'), CONFIG, osp.join(trained, 'epoch_1.pth'),
              '--work-dir', str(tmp_path), '--score-dir', score_dir, '--cfg-options',
              *tiny_options(tiny_data)], cwd=str(tmp_path))
    assert len(glob.glob(osp.join(score_dir, '*.npz'))) == 3
    logged = last_scalars(str(tmp_path))
    spec = importlib.util.spec_from_file_location(
        'score_protocols', osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'score_protocols.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([score_dir, '--json', out]) == 0
    assert 'TPAVI / AVSBench (released)' in capsys.readouterr().out
    rows = {r['protocol']: r for r in json.load(open(out))['rows']}
    # the metric logs 4 decimals; float16 logits move F by well under 5e-4
    assert rows['CATR (released)']['mIoU'] == pytest.approx(logged['mIoU'], abs=1e-4)
    assert rows['CATR (released)']['F-score'] == pytest.approx(logged['F-score'], abs=5e-4)
    assert rows['per dataset (catravs)']['F-score'] == pytest.approx(
        logged['F-score(dataset)'], abs=5e-4)


def test_audio_override_reaches_the_model(trained, tiny_data, tmp_path):
    ckpt = osp.join(trained, 'epoch_1.pth')
    scores = {}
    for override in ('None', 'silence'):
        work = tmp_path / override
        run_tool([osp.join(REPO_ROOT, 'tools', 'test.py'), CONFIG, ckpt, '--work-dir', str(work),
                  '--cfg-options', *tiny_options(tiny_data),
                  f'test_dataloader.dataset.audio_override={override}'], cwd=str(tmp_path))
        scores[override] = last_scalars(str(work))['F-score(dataset)']
    assert scores['None'] != scores['silence']


def test_resume_and_amp_on_cpu(trained, tiny_data, tmp_path):
    """--resume continues the finished 1-epoch run for a second epoch; --amp uses bf16 on CPU."""
    work = str(tmp_path / 'resumed')
    os.makedirs(work)
    for name in ('epoch_1.pth', 'last_checkpoint'):
        with open(osp.join(trained, name), 'rb') as src, open(osp.join(work, name), 'wb') as dst:
            dst.write(src.read())
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_1.pth'))
    opts = [o for o in tiny_options(tiny_data) if not o.startswith('train_cfg.max_epochs')]
    proc = run_tool([osp.join(REPO_ROOT, 'tools', 'train.py'), CONFIG, '--work-dir', work,
                     '--resume', '--amp', '--cfg-options', 'train_cfg.max_epochs=2', *opts],
                    cwd=work)
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in log and 'Epoch(train) [2]' in log
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    # --amp reached the run's config (the wrapper that autocasts; test_train_flags.py shows
    # that it trains in bfloat16)
    dumped = Config.fromfile(osp.join(work, osp.basename(CONFIG)))
    assert dumped.optim_wrapper.type == 'AnyDeviceAmpOptimWrapper', dumped.optim_wrapper
