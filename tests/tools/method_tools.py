"""What the per-method tool tests (``test_avsegformer_tools.py``, ``test_tpavi_tools.py``)
check the same way, for any method's tiny config: the video demo (binary and semantic), the
generated data and config of a tools run (S4: the tiny config with overrides; AVSS: a
semantic config on SynthAVS AVSS), ``inference_model``'s masks and use of the sound, and
the synthetic batch of ``benchmark.py``'s train step."""
from __future__ import annotations

import json
import os.path as osp

import numpy as np
import soundfile as sf
import torch
from PIL import Image

from catravs.apis import inference_model
from catravs.datasets.synthavs import make_synthavs
from tests.apis.test_inference_model import clip_files
from tests.conftest import REPO_ROOT
from tests.tools.test_video_demo import H, W, check_outputs, run_main

BASE = osp.join(REPO_ROOT, 'configs', '_base_')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

#: a semantic config on SynthAVS AVSS: the method's model and schedule bases, its
#: semantic model override (``{model_override}``, formatted with ``num_classes``)
AVSS_CONFIG = """
_base_ = [{model!r}, {data!r}, {schedule!r}, {runtime!r}]
data_root = {root!r}
{model_override}
_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='semantic', num_classes={num_classes}),
    dict(type='LoadClipAudio', source='wav', wav_slicing='clip'),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=_pipeline))
val_dataloader = train_dataloader
test_dataloader = train_dataloader
val_evaluator = dict(type='AVSSemanticMetric', num_classes={num_classes})
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=1, val_interval=1)
custom_hooks = []
default_hooks = dict(logger=dict(interval=1))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
"""
#: the semantic override of a model that needs nothing more than ``task`` and
#: ``num_classes`` (CATR, AVSegFormer), for :func:`semantic_config`
SEMANTIC_MODEL = "model = dict(task='semantic', num_classes={num_classes})\n"
#: the tiny config's S4 run made small: one epoch, batches of 2, no worker processes
S4_OPTIONS = ['train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
              'visualizer.vis_backends.0.type=LocalVisBackend'] + [
    f'{loader}.{key}' for loader in LOADERS
    for key in ('num_workers=0', 'persistent_workers=False', 'batch_size=2')]


def semantic_config(tmp_path, config: str, model_override: str, num_classes: int = 3) -> str:
    """``config`` with the semantic ``model_override`` (formatted with ``num_classes``)."""
    path = tmp_path / f'{osp.splitext(osp.basename(config))[0]}_semantic.py'
    path.write_text(f'_base_ = [{config!r}]\n' + model_override.format(num_classes=num_classes))
    return str(path)


def tools_run_setup(tmp_path, subset: str, config: str, model_base: str, schedule_base: str,
                    model_override: str, num_train: int) -> tuple[str, list[str]]:
    """SynthAVS data of ``subset`` (3 test clips) and the config and ``--cfg-options`` of
    a tools run on it: S4 the tiny ``config`` with :data:`S4_OPTIONS`; AVSS
    :data:`AVSS_CONFIG` from the method's ``configs/_base_`` model and schedule files."""
    data_root = make_synthavs(str(tmp_path / 'data'), subset, num_train=num_train,
                              num_val=2, num_test=3, image_size=64)
    if subset == 's4':
        return config, S4_OPTIONS + [f'{loader}.dataset.data_root={data_root}'
                                     for loader in LOADERS]
    with open(osp.join(data_root, 'label2idx.json')) as f:
        num_classes = len(json.load(f))
    avss = str(tmp_path / f'{osp.splitext(model_base)[0]}_avss.py')
    with open(avss, 'w') as f:
        f.write(AVSS_CONFIG.format(
            model=osp.join(BASE, 'models', model_base),
            data=osp.join(BASE, 'datasets', 'avsbench_avss.py'),
            schedule=osp.join(BASE, 'schedules', schedule_base),
            runtime=osp.join(BASE, 'default_runtime.py'), root=data_root,
            num_classes=num_classes,
            model_override=model_override.format(num_classes=num_classes)))
    return avss, []


def check_video_demo_binary(video: str, config: str, tmp_path, capsys) -> str:
    """Binary PNGs (0 / 255) at the video's size and the overlay video, for a 7-frame
    video in two 5-frame clips; the output folder."""
    out_dir = str(tmp_path / 'out')
    code, log = run_main([video, config, '--out-dir', out_dir], capsys)
    assert code == 0, log
    assert '2 clips, 7 frames, 7 s of video' in log
    check_outputs(out_dir, 7)
    summary = json.load(open(osp.join(out_dir, 'summary.json')))
    assert summary['clips'] == 2 and summary['frames_per_clip'] == 5
    return out_dir


def check_video_demo_semantic(video: str, config: str, tmp_path, capsys) -> None:
    """PNGs in the VOC palette at the video's size with class indices below 3 (a 3-class
    model)."""
    from catravs.datasets.palette import voc_palette
    out_dir = str(tmp_path / 'out')
    code, log = run_main([video, config, '--out-dir', out_dir], capsys)
    assert code == 0, log
    for i in range(7):
        mask = Image.open(osp.join(out_dir, 'masks', f'{i:06d}.png'))
        assert mask.mode == 'P' and mask.size == (W, H)
        assert mask.getpalette()[:9] == voc_palette(3).flatten().tolist()
        assert np.array(mask).max() <= 2


def check_inference(model, data_root: str, task: str) -> None:
    """Masks at the frames' size (64 x 64, 5 frames); binary: sigmoid > 0.5 of the logits,
    semantic (3 classes): argmax; the model hears the sound (silence changes the logits)."""
    frames, wav = clip_files(data_root)[0]
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


def check_benchmark_train_step(cfg, task: str, frames: int, monkeypatch) -> None:
    """``benchmark.py``'s train step (1 clip of ``frames`` x 32 x 32, one thread) measures,
    and its synthetic batch follows the built model's task: class 1 alone for binary,
    classes up to 4 for a 5-class semantic model (a binary batch would hold class 1 only)."""
    from catravs.analysis import benchmarking
    seen = {}
    original = benchmarking.synthetic_batch

    def spy(model, *args, **kwargs):
        batch = original(model, *args, **kwargs)
        seen['labels'] = torch.cat([s.gt_masks.flatten() for s in batch['data_samples']])
        seen['frames'] = batch['inputs']['frames'][0].shape[0]
        return batch

    monkeypatch.setattr(benchmarking, 'synthetic_batch', spy)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = benchmarking.measure_model(cfg, 'train', 'cpu', 1, (frames, 32, 32), 1, 0)
    finally:
        torch.set_num_threads(threads)
    assert result['step_s'] > 0 and result['peak_bytes'] > 0 and seen['frames'] == frames
    classes = set(seen['labels'].unique().tolist()) - {0, 255}
    assert classes == {1} if task == 'binary' else (classes and max(classes) <= 4)
