"""Smoke tests of tools/analysis_tools/benchmark.py on the tiny demo config (no timing asserted)."""
import importlib.util
import json
import os.path as osp
import re

import pytest
import torch

from catravs.analysis import bench_compare, benchmarking
from tests.conftest import REPO_ROOT

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark.py')
TINY = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')
SMALL = ['--shape', '2', '32', '32', '--steps', '1', '--warmup', '1', '--device', 'cpu',
         '--threads', '1']


def load_tool():
    spec = importlib.util.spec_from_file_location('_tool_benchmark', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(*args: str) -> str:
    """The tool's printed text, run in this process (workers are subprocesses)."""
    threads = torch.get_num_threads()
    try:
        return load_tool().main([TINY, *args])
    finally:
        torch.set_num_threads(threads)


def test_train_step_table_and_json(tmp_path) -> None:
    out = run_tool(*SMALL, '--json-out', str(tmp_path / 'r.json'))
    assert 'torch: ' + torch.__version__ in out and 'cpu: ' in out
    # step s (median), first step s, clips/s, peak memory
    assert re.search(r'\| ours +\| 1x2x32x32 +(\| [0-9.e-]+ +){3}\| [0-9.]+ GiB', out), out
    result = json.load(open(tmp_path / 'r.json'))['result']
    assert result['task'] == 'train' and len(result['times']) == 1 and result['peak_bytes'] > 0
    assert result['first_step_s'] > 0


def test_compare_reference_ends_with_speedup_line() -> None:
    out = run_tool(*SMALL, '--compare-reference', '--mem-limit-gb', '16')
    lines = out.strip().splitlines()
    assert re.fullmatch(r'speedup [0-9.]+x memory [0-9.]+x', lines[-1]), lines[-1]
    assert any(line.startswith('| reference ') for line in lines)
    assert any(line.startswith('| ours ') for line in lines)


def test_worker_over_memory_limit_is_reported() -> None:
    result = bench_compare.run_worker(TOOL, [TINY, *SMALL, '--path', 'reference'],
                                      mem_limit_gb=0.05)
    assert result['over_limit'] and result['limit_gb'] == 0.05
    line = bench_compare.summary_line(dict(result, path='reference'),
                                      dict(peak_bytes=2 ** 29, step_s=1.0))
    assert line == 'speedup n/a memory <10.00x'


def test_inference_in_process(capsys) -> None:
    from mmengine.config import Config
    cfg = Config.fromfile(TINY)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = benchmarking.measure_model(cfg, 'test', 'cpu', 2, (2, 32, 32), 1, 0)
    finally:
        torch.set_num_threads(threads)
    assert result['frames_per_s'] == pytest.approx(2 * result['clips_per_s'])


def test_synthetic_batch_semantic_labels() -> None:
    model = torch.nn.Module()
    batch = benchmarking.synthetic_batch(model, 2, 3, 16, 16, 'semantic', 5, annotated='first')
    gt = batch['data_samples'][0].gt_masks
    assert gt.shape == (3, 16, 16) and (gt[1:] == 255).all()
    assert set(gt[0].unique().tolist()) <= set(range(5)) and gt[0].max() > 0
    assert batch['inputs']['frames'][0].dtype == torch.uint8
    assert batch['inputs']['audio'][0].shape == (3, 1, 96, 64)


def test_pool_runs_and_summary() -> None:
    runs = [dict(times=[1.0, 3.0], clips=1, shape=[2, 8, 8], step_s=2.0, peak_bytes=10),
            dict(times=[2.0], clips=1, shape=[2, 8, 8], step_s=2.0, peak_bytes=30)]
    pooled = bench_compare.pool_runs(runs)
    assert pooled['step_s'] == 2.0 and pooled['peak_bytes'] == 30 and pooled['runs'] == 2
    ours = dict(step_s=0.5, peak_bytes=15)
    assert bench_compare.summary_line(pooled, ours) == 'speedup 4.00x memory 0.50x'


def test_data_and_eval_tasks(tmp_path) -> None:
    out = run_tool('--task', 'data', '--steps', '2', '--warmup', '1', '--workers', '0',
                   '--threads', '1',
                   '--log-mel-cache', str(tmp_path / 'cache'),
                   '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/d',
                   'train_dataloader.dataset.synthesize.num_train=4',
                   'train_dataloader.dataset.pipeline.2.source=wav')
    assert re.search(r'\| LoadClipAudio \(log-mel cache, warm\) +\| [0-9.]+', out), out
    assert re.search(r'\| train +\| 0 +\| 4 +\| [0-9.]+', out)
    out = run_tool('--task', 'eval', '--eval-frames', '10', '--threads', '1')
    assert re.search(r'\| AVSBinaryMetric \| 10 +\| 224 ', out)
