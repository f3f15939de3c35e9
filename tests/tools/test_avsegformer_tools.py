"""The user-facing tools run AVSegFormer configs, binary and semantic (CPU, tiny model):
tools/video_demo.py on a generated video with sound, catravs.apis.inference_model, and
tools/train.py + tools/test.py on generated SynthAVS S4 and AVSS."""
from __future__ import annotations

import json
import os.path as osp

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from catravs.apis import inference_model, init_model
from catravs.datasets.synthavs import make_synthavs
from tests.apis.test_inference_model import clip_files
from tests.conftest import REPO_ROOT
from tests.tools.test_train_test import last_scalars, run_log, run_tool, run_tool_in_process
from tests.tools.test_video_demo import (
    H,
    W,
    check_outputs,
    run_main,
    video,  # noqa: F401  (the fixture)
)

CONFIG = osp.join(REPO_ROOT, 'configs', 'avsegformer', 'avsegformer_tiny_synthavs.py')
BASE = osp.join(REPO_ROOT, 'configs', '_base_')


def semantic_config(tmp_path, num_classes: int = 3) -> str:
    path = tmp_path / 'avsegformer_tiny_semantic.py'
    path.write_text(f"_base_ = [{CONFIG!r}]\n"
                    f"model = dict(task='semantic', num_classes={num_classes})\n")
    return str(path)


def test_video_demo_binary(video, tmp_path, capsys):  # noqa: F811
    out_dir = str(tmp_path / 'out')
    code, log = run_main([video, CONFIG, '--out-dir', out_dir], capsys)
    assert code == 0, log
    assert '2 clips, 7 frames, 7 s of video' in log
    check_outputs(out_dir, 7)  # binary PNGs (0 / 255) at the video's size, the overlay video
    summary = json.load(open(osp.join(out_dir, 'summary.json')))
    assert summary['clips'] == 2 and summary['frames_per_clip'] == 5


def test_video_demo_semantic_writes_palette_masks(video, tmp_path, capsys):  # noqa: F811
    out_dir = str(tmp_path / 'out')
    code, log = run_main([video, semantic_config(tmp_path), '--out-dir', out_dir], capsys)
    assert code == 0, log
    for i in range(7):
        mask = Image.open(osp.join(out_dir, 'masks', f'{i:06d}.png'))
        assert mask.mode == 'P' and mask.size == (W, H)
        assert np.array(mask).max() <= 2


@pytest.fixture(scope='module')
def s4_data(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthavs') / 's4')
    return make_synthavs(root, 's4', num_train=4, num_val=2, num_test=2, image_size=64)


@pytest.mark.parametrize('task', ['binary', 'semantic'])
def test_inference_model(s4_data, tmp_path, task):
    """Masks at the frames' size; binary: sigmoid > 0.5 of the logits, semantic: argmax;
    the model hears the sound (silence changes the logits)."""
    config = CONFIG if task == 'binary' else semantic_config(tmp_path)
    torch.manual_seed(0)
    model = init_model(config, device='cpu')
    frames, wav = clip_files(s4_data)[0]
    sample = inference_model(model, frames, wav)[0]
    assert sample.pred_masks.shape == (5, 64, 64) and sample.pred_masks.dtype == torch.long
    if task == 'binary':
        assert sample.seg_logits.shape == (5, 64, 64)
        assert torch.equal(sample.pred_masks, (sample.seg_logits.sigmoid() > 0.5).long())
    else:
        assert sample.seg_logits.shape == (5, 3, 64, 64)
        assert torch.equal(sample.pred_masks, sample.seg_logits.argmax(1))
    waveform, rate = sf.read(wav, dtype='float32')
    silent = inference_model(model, frames, (np.zeros_like(waveform), rate))[0]
    assert not torch.allclose(silent.seg_logits, sample.seg_logits)


AVSS_CONFIG = """
_base_ = [{model!r}, {data!r}, {schedule!r}, {runtime!r}]
data_root = {root!r}
model = dict(task='semantic', num_classes={num_classes})
_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='semantic', num_classes={num_classes}),
    dict(type='LoadClipAudio', source='wav', wav_slicing='clip'),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='AVSSemanticMetric', num_classes={num_classes})
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=1, val_interval=1)
custom_hooks = []
default_hooks = dict(logger=dict(interval=1))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
"""
S4_OPTIONS = ['train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
              'visualizer.vis_backends.0.type=LocalVisBackend'] + [
    f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    for key in ('num_workers=0', 'persistent_workers=False', 'batch_size=2')]


@pytest.mark.slow
@pytest.mark.parametrize('subset', ['s4', 'avss'])
def test_train_then_test_tool(tmp_path, subset, monkeypatch):
    """One epoch of tools/train.py (a process), then tools/test.py on its checkpoint (its
    ``main()`` in this process): the metrics of the subset's metric are logged (S4: the
    tiny config itself; AVSS: 10-frame clips, 71-style semantic labels of SynthAVS AVSS,
    padding frames included)."""
    if subset == 's4':
        data_root = make_synthavs(str(tmp_path / 'data'), 's4', num_train=4, num_val=2,
                                  num_test=2, image_size=64)
        config = CONFIG
        options = S4_OPTIONS + [f'{loader}.dataset.data_root={data_root}' for loader in
                                ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    else:
        data_root = make_synthavs(str(tmp_path / 'data'), 'avss', num_train=4, num_val=2,
                                  num_test=3, image_size=64)
        with open(osp.join(data_root, 'label2idx.json')) as f:
            num_classes = len(json.load(f))
        config = str(tmp_path / 'avsegformer_tiny_avss.py')
        with open(config, 'w') as f:
            f.write(AVSS_CONFIG.format(
                model=osp.join(BASE, 'models', 'avsegformer_tiny.py'),
                data=osp.join(BASE, 'datasets', 'avsbench_avss.py'),
                schedule=osp.join(BASE, 'schedules', 'avsegformer_adamw.py'),
                runtime=osp.join(BASE, 'default_runtime.py'), root=data_root,
                num_classes=num_classes))
        options = []
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
    built model's task (semantic labels reach the cross-entropy: a binary batch would
    hold class 1 only)."""
    from mmengine.config import Config

    from catravs.analysis import benchmarking
    cfg = Config.fromfile(CONFIG)
    if task == 'semantic':
        cfg.merge_from_dict({'model.task': 'semantic', 'model.num_classes': 5})
    seen = {}
    original = benchmarking.synthetic_batch

    def spy(model, *args, **kwargs):
        batch = original(model, *args, **kwargs)
        seen['labels'] = torch.cat([s.gt_masks.flatten() for s in batch['data_samples']])
        return batch

    monkeypatch.setattr(benchmarking, 'synthetic_batch', spy)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = benchmarking.measure_model(cfg, 'train', 'cpu', 1, (2, 32, 32), 1, 0)
    finally:
        torch.set_num_threads(threads)
    assert result['step_s'] > 0 and result['peak_bytes'] > 0
    classes = set(seen['labels'].unique().tolist()) - {0, 255}
    assert classes == {1} if task == 'binary' else (classes and max(classes) <= 4)


def test_segmentation_task_reads_task_or_num_classes():
    from catravs.utils.segmentation_task import segmentation_task
    assert segmentation_task(dict(task='semantic', num_classes=71)) == 'semantic'
    assert segmentation_task(dict(num_classes=71)) == 'semantic'
    assert segmentation_task(dict(num_classes=1)) == 'binary'
    with pytest.raises(ValueError, match='task'):
        segmentation_task(dict(task='panoptic'))
    with pytest.raises(ValueError, match='neither task nor num_classes'):
        segmentation_task(dict())
