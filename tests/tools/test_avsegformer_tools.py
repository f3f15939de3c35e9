"""The user-facing tools run AVSegFormer configs, binary and semantic (CPU, tiny model):
tools/video_demo.py on a generated video with sound, catravs.apis.inference_model, and
tools/train.py + tools/test.py on generated SynthAVS S4 and AVSS. The checks shared with the
other methods are in ``tests/tools/method_tools.py``."""
from __future__ import annotations

import os.path as osp

import pytest
import torch

from catravs.apis import init_model
from catravs.datasets.synthavs import make_synthavs
from tests.conftest import REPO_ROOT
from tests.tools.method_tools import (
    SEMANTIC_MODEL,
    check_benchmark_train_step,
    check_inference,
    check_video_demo_binary,
    check_video_demo_semantic,
    semantic_config,
    tools_run_setup,
)
from tests.tools.test_train_test import last_scalars, run_log, run_tool, run_tool_in_process
from tests.tools.test_video_demo import video  # noqa: F401  (the fixture)

CONFIG = osp.join(REPO_ROOT, 'configs', 'avsegformer', 'avsegformer_tiny_synthavs.py')


def test_video_demo_binary(video, tmp_path, capsys):  # noqa: F811
    check_video_demo_binary(video, CONFIG, tmp_path, capsys)


def test_video_demo_semantic_writes_palette_masks(video, tmp_path, capsys):  # noqa: F811
    check_video_demo_semantic(video, semantic_config(tmp_path, CONFIG, SEMANTIC_MODEL),
                              tmp_path, capsys)


@pytest.fixture(scope='module')
def s4_data(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthavs') / 's4')
    return make_synthavs(root, 's4', num_train=4, num_val=2, num_test=2, image_size=64)


@pytest.mark.parametrize('task', ['binary', 'semantic'])
def test_inference_model(s4_data, tmp_path, task):
    config = CONFIG if task == 'binary' else semantic_config(tmp_path, CONFIG, SEMANTIC_MODEL)
    torch.manual_seed(0)
    check_inference(init_model(config, device='cpu'), s4_data, task)


@pytest.mark.slow
@pytest.mark.parametrize('subset', ['s4', 'avss'])
def test_train_then_test_tool(tmp_path, subset, monkeypatch):
    """One epoch of tools/train.py (a process), then tools/test.py on its checkpoint (its
    ``main()`` in this process): the metrics of the subset's metric are logged (S4: the
    tiny config itself; AVSS: 10-frame clips, 71-style semantic labels of SynthAVS AVSS,
    padding frames included)."""
    config, options = tools_run_setup(tmp_path, subset, CONFIG, 'avsegformer_tiny.py',
                                      'avsegformer_adamw.py', SEMANTIC_MODEL, num_train=4)
    work_dir, test_dir = str(tmp_path / 'work'), str(tmp_path / 'test')
    extra = ['--cfg-options', *options] if options else []
    run_tool([osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
              *extra], cwd=str(tmp_path))
    run_tool_in_process(osp.join(REPO_ROOT, 'tools', 'test.py'),
                        [config, osp.join(work_dir, 'epoch_1.pth'), '--work-dir', test_dir,
                         *extra], str(tmp_path), monkeypatch)
    scalars = last_scalars(test_dir)
    assert 0.0 <= scalars['mIoU'] <= 1.0 and 0.0 <= scalars['F-score'] <= 1.0
    if subset == 'avss':
        assert 'mIoU(avsbench)' in scalars
    assert 'Epoch(test)' in run_log(test_dir)


@pytest.mark.parametrize('task', ['binary', 'semantic'])
def test_benchmark_measures_the_tiny_model(task, monkeypatch):
    """benchmark.py's train step on the tiny AVSegFormer: the synthetic batch follows the
    built model's task."""
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    if task == 'semantic':
        cfg.merge_from_dict({'model.task': 'semantic', 'model.num_classes': 5})
    check_benchmark_train_step(cfg, task, 2, monkeypatch)


def test_segmentation_task_reads_task_or_num_classes():
    from catravs.utils.segmentation_task import segmentation_task
    assert segmentation_task(dict(task='semantic', num_classes=71)) == 'semantic'
    assert segmentation_task(dict(num_classes=71)) == 'semantic'
    assert segmentation_task(dict(num_classes=1)) == 'binary'
    with pytest.raises(ValueError, match='task'):
        segmentation_task(dict(task='panoptic'))
    with pytest.raises(ValueError, match='neither task nor num_classes'):
        segmentation_task(dict())
