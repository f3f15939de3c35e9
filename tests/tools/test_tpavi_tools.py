"""The user-facing tools run TPAVI configs, binary and semantic (CPU, tiny model, 64 x 64):
tools/video_demo.py on a generated video with sound, catravs.apis.init_model /
inference_model, tools/test.py (with --score-dir) on a checkpoint of the built model, and
benchmark.py's train step. The semantic model is the tiny one with AVSS's losses
(cross-entropy + the matching term with its argmax mask); on SynthAVS AVSS its 10-frame
clips run as two groups of 5 frames. The checks shared with the other methods are in
``tests/tools/method_tools.py``."""
from __future__ import annotations

import glob
import json
import os.path as osp

import pytest
import torch

from catravs.apis import init_model
from catravs.datasets.synthavs import make_synthavs
from tests.conftest import REPO_ROOT
from tests.tools.method_tools import (
    check_benchmark_train_step,
    check_inference,
    check_video_demo_binary,
    check_video_demo_semantic,
    semantic_config,
    tools_run_setup,
)
from tests.tools.test_train_test import last_scalars, run_tool
from tests.tools.test_video_demo import video  # noqa: F401  (the fixture)

CONFIG = osp.join(REPO_ROOT, 'configs', 'tpavi', 'tpavi_tiny_synthavs.py')
SEMANTIC_MODEL = """
model = dict(
    task='semantic', num_classes={num_classes},
    fusion=dict(frames_per_group=5),
    criterion=dict(
        seg_loss=dict(_delete_=True, type='FrameCrossEntropyLoss'),
        matching_loss=dict(_delete_=True, type='AudioVisualMatchingLoss', mask='argmax',
                           frames='mean', loss_weight=0.5)))
"""


def test_video_demo_binary(video, tmp_path, capsys):  # noqa: F811
    check_video_demo_binary(video, CONFIG, tmp_path, capsys)


def test_video_demo_semantic_writes_palette_masks(video, tmp_path, capsys):  # noqa: F811
    check_video_demo_semantic(video, semantic_config(tmp_path, CONFIG, SEMANTIC_MODEL),
                              tmp_path, capsys)


@pytest.fixture(scope='module')
def s4_data(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthavs') / 's4')
    return make_synthavs(root, 's4', num_train=2, num_val=2, num_test=2, image_size=64)


@pytest.mark.parametrize('task', ['binary', 'semantic'])
def test_inference_model(s4_data, tmp_path, task):
    """Masks at the frames' size; binary: sigmoid > 0.5 of the logits, semantic: argmax;
    the model hears the sound (silence changes the logits once the TPAVI blocks' output
    BatchNorm, zero at initialisation so that each block starts as the identity, is not)."""
    config = CONFIG if task == 'binary' else semantic_config(tmp_path, CONFIG, SEMANTIC_MODEL)
    torch.manual_seed(0)
    model = init_model(config, device='cpu')
    assert type(model).__name__ == 'TPAVI'
    blocks = [m for m in model.modules() if type(m).__name__ == 'TPAVIBlock']
    assert blocks
    with torch.no_grad():
        for block in blocks:
            block.out_bn.weight.fill_(1.0)
    check_inference(model, s4_data, task)


def test_init_model_loads_a_checkpoint(tmp_path):
    """init_model(config, checkpoint) gives back the saved weights (strict load)."""
    torch.manual_seed(1)
    model = init_model(CONFIG, device='cpu')
    ckpt = str(tmp_path / 'tpavi.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    torch.manual_seed(2)
    loaded = init_model(CONFIG, ckpt, device='cpu')
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


@pytest.mark.parametrize('subset', ['s4', 'avss'])
def test_test_tool_with_score_dir(tmp_path, subset):
    """tools/test.py on a checkpoint of the built tiny model: the subset's metrics are
    logged and --score-dir writes one score file per test clip (S4: the tiny config,
    5-frame clips; AVSS: 10-frame clips of SynthAVS AVSS with padding frames, semantic)."""
    config, options = tools_run_setup(tmp_path, subset, CONFIG, 'tpavi_tiny.py',
                                      'tpavi_adam.py', SEMANTIC_MODEL, num_train=2)
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'tpavi.pth')
    torch.save({'state_dict': init_model(config, device='cpu').state_dict()}, ckpt)
    test_dir, score_dir = str(tmp_path / 'test'), str(tmp_path / 'scores')
    extra = ['--cfg-options', *options] if options else []
    proc = run_tool([osp.join(REPO_ROOT, 'tools', 'test.py'), config, ckpt, '--work-dir',
                     test_dir, '--score-dir', score_dir, *extra], cwd=str(tmp_path))
    scalars = last_scalars(test_dir)
    assert 0.0 <= scalars['mIoU'] <= 1.0 and 0.0 <= scalars['F-score'] <= 1.0
    if subset == 'avss':
        assert 'mIoU(avsbench)' in scalars
    assert 'Epoch(test)' in proc.stdout + proc.stderr
    assert len(glob.glob(osp.join(score_dir, '*.npz'))) == 3  # one per test clip


@pytest.mark.parametrize('task', ['binary', 'semantic'])
def test_benchmark_measures_the_tiny_model(task, monkeypatch):
    """benchmark.py's train step on the tiny TPAVI: the synthetic batch follows the built
    model's task (semantic labels reach the cross-entropy); semantic clips hold 10 frames,
    two groups of 5 for the TPAVI blocks."""
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    if task == 'semantic':
        cfg.merge_from_dict({'model.task': 'semantic', 'model.num_classes': 5})
        cfg.model.criterion.seg_loss = dict(type='FrameCrossEntropyLoss')
        cfg.model.criterion.matching_loss = dict(type='AudioVisualMatchingLoss', mask='argmax',
                                                 frames='mean', loss_weight=0.5)
    check_benchmark_train_step(cfg, task, 5 if task == 'binary' else 10, monkeypatch)


@pytest.mark.parametrize('path', ['reference', 'ours'])
def test_benchmark_reference_path_runs_the_reference_block(path, monkeypatch):
    """benchmark.py's reference path builds TPAVI with every block at impl='reference' and
    its train step runs the released [5hw, 5hw] attention, never the fast form; 'ours'
    runs the fast form only."""
    from mmengine.config import Config

    from catravs.analysis import benchmarking
    from catravs.models.fusions.tpavi_block import TPAVIBlock
    cfg = Config.fromfile(CONFIG)
    model, _ = benchmarking.build_model(
        benchmarking.prepare_model_cfg(cfg.model.to_dict(), path), path, 'cpu')
    blocks = [m for m in model.modules() if isinstance(m, TPAVIBlock)]
    assert len(blocks) == 4  # one per stage
    want = 'reference' if path == 'reference' else 'fast'
    assert all(block.impl == want for block in blocks)
    calls = {'fast': 0, 'reference': 0}
    for impl in calls:
        original = getattr(TPAVIBlock, f'_attend_{impl}')

        def counted(self, *args, _impl=impl, _original=original, **kwargs):
            calls[_impl] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(TPAVIBlock, f'_attend_{impl}', counted)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        benchmarking.measure_model(cfg, 'train', 'cpu', 1, (5, 32, 32), 1, 0, path=path,
                                   count=False)
    finally:
        torch.set_num_threads(threads)
    assert calls[want] > 0 and calls['reference' if want == 'fast' else 'fast'] == 0


def test_benchmark_compare_reference_cli(tmp_path, monkeypatch):
    """benchmark.py --compare-reference on the tiny TPAVI: both paths measured, the summary
    line last. The workers run in this process (``tests/tools/test_benchmark.py`` starts
    them as the processes of their own that they are)."""
    import importlib.util
    import re

    from catravs.analysis import bench_compare
    spec = importlib.util.spec_from_file_location(
        '_tool_benchmark', osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    paths = []

    def worker_in_process(tool_path, argv, *args, **kwargs):
        out = str(tmp_path / f'worker{len(paths)}.json')
        paths.append(argv[argv.index('--path') + 1])
        tool.main([*argv, '--worker-out', out])
        return json.load(open(out))

    monkeypatch.setattr(bench_compare, 'run_worker', worker_in_process)
    threads = torch.get_num_threads()
    try:
        out = tool.main([CONFIG, '--shape', '5', '32', '32', '--steps', '1', '--warmup', '0',
                         '--device', 'cpu', '--threads', '1', '--compare-reference',
                         '--rounds', '1', '--json-out', str(tmp_path / 'r.json')])
    finally:
        torch.set_num_threads(threads)
    lines = out.strip().splitlines()
    assert re.fullmatch(r'speedup [0-9.]+x memory [0-9.]+x', lines[-1]), lines[-1]
    result = json.load(open(tmp_path / 'r.json'))['result']
    assert set(result) >= {'reference', 'ours'} and paths == ['reference', 'ours']
    assert [result[p]['path'] for p in paths] == paths
