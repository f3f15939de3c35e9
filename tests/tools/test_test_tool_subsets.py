"""tools/train.py + tools/test.py --out-dir/--show-dir on tiny generated SynthAVS MS3 and
AVSS (CPU): the predicted masks come out in the AVSBench layout, one per labelled test
frame, and the metrics are logged (S4: tests/tools/test_train_test.py)."""
from __future__ import annotations

import glob
import json
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from catravs.datasets.palette import rgb_to_class_map, voc_palette
from catravs.datasets.synthavs import make_synthavs
from tests.conftest import REPO_ROOT
from tests.tools.test_train_test import last_scalars, run_tool

BASE = osp.join(REPO_ROOT, 'configs', '_base_')
#: one worker trains each subset's tiny run, once (pytest-xdist --dist loadgroup)
pytestmark = pytest.mark.xdist_group('test_tool_subsets')
SIZE = 64  # SynthAVS frames and labels; the network sees them at this size too
NUM_TEST = 5  # seed 0: AVSS test clips v1m, v1m, v1s, v1m, v2 (5- and 10-frame clips)

# Everything tiny but the repo's own dataset configs, which the configs below inherit
# (overriding where SynthAVS differs from the real data: data_root, data_prefix, sizes).
COMMON = """
model = dict(decoder=dict(num_queries=4))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
""" + ''.join(f"""
{loader} = dict(batch_size=2, num_workers=0, persistent_workers=False,
                dataset=dict(data_root=data_root, pipeline=_pipeline, **_dataset))""" for loader in
                ('train_dataloader', 'val_dataloader', 'test_dataloader'))

MS3_CONFIG = """
_base_ = [{models!r}, {datasets!r}, {schedule!r}, {runtime!r}]
data_root = {root!r}
# SynthAVS MS3 has no ms3_data/ folder: the dataset's default prefixes
_dataset = dict(data_prefix=dict(frames='visual_frames', masks='gt_masks', wav='audio_wav',
                                 log_mel='audio_log_mel'))
_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='ClipResize', scale={size}, resize_masks=False),
    dict(type='PackAVSInputs'),
]
"""

AVSS_CONFIG = """
_base_ = [{models!r}, {datasets!r}, {schedule!r}, {runtime!r}]
data_root = {root!r}
_dataset = dict()
_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='semantic', num_classes={num_classes}),
    dict(type='LoadClipAudio', source='wav', wav_slicing='clip'),
    dict(type='ClipShortSideResizeCenterCrop', size={size}),
    dict(type='ClipResize', scale={size}, resize_masks=False),
    dict(type='PackAVSInputs'),
]
"""
AVSS_EXTRA = """
model = dict(task='semantic', num_classes={num_classes}, decoder=dict(num_queries=4))
val_evaluator = dict(type='AVSSemanticMetric', num_classes={num_classes})
test_evaluator = val_evaluator
"""


def write_config(subset: str, data_root: str, path: str) -> int:
    """Write the tiny config of ``subset``; returns its number of classes (K+1)."""
    if subset == 'ms3':
        num_classes, template = 1, MS3_CONFIG
    else:
        with open(osp.join(data_root, 'label2idx.json')) as f:
            num_classes, template = len(json.load(f)), AVSS_CONFIG  # background included
    text = template.format(
        models=osp.join(BASE, 'models', 'catr_tiny.py'),
        datasets=osp.join(BASE, 'datasets', f'avsbench_{subset}.py'),
        schedule=osp.join(BASE, 'schedules', 'catr_adam.py'),
        runtime=osp.join(BASE, 'default_runtime.py'),
        root=data_root, size=SIZE, num_classes=num_classes)
    if subset == 'avss':  # after COMMON's model
        text += COMMON + AVSS_EXTRA.format(num_classes=num_classes)
    else:
        text += COMMON
    with open(path, 'w') as f:
        f.write(text)
    return num_classes


def gt_mask_relpaths(subset: str, data_root: str) -> list[str]:
    """Relative paths, in the AVSBench prediction layout, of the labelled test frames."""
    if subset == 'ms3':
        # gt_masks/test/{name}/{name}_{i}.png -> {name}/{name}_{i}.png (AVSBench's save_mask)
        gt_dir = osp.join(data_root, 'gt_masks', 'test')
        files = glob.glob(osp.join(gt_dir, '*', '*.png'))
        return sorted(osp.relpath(p, gt_dir) for p in files)
    # {label}/{uid}/labels_rgb/{i}.png, kept as they are, for the test rows of the csv
    with open(osp.join(data_root, 'metadata.csv')) as f:
        rows = [line.strip().split(',') for line in f.readlines()[1:]]
    test = {(r[6], r[1]) for r in rows if r[5] == 'test'}
    files = glob.glob(osp.join(data_root, '*', '*', 'labels_rgb', '*.png'))
    rels = [osp.relpath(p, data_root) for p in files]
    return sorted(r for r in rels if tuple(r.split(osp.sep)[:2]) in test)


def written_relpaths(out_dir: str) -> list[str]:
    return sorted(osp.relpath(p, out_dir)
                  for p in glob.glob(osp.join(out_dir, '**', '*'), recursive=True)
                  if osp.isfile(p))


@pytest.fixture(scope='module', params=['ms3', 'avss'])
def tested(request, tmp_path_factory) -> SimpleNamespace:
    """Train 1 epoch, then run tools/test.py with --out-dir and --show-dir."""
    subset = request.param
    tmp = tmp_path_factory.mktemp(subset)
    data_root = make_synthavs(str(tmp / 'data'), subset, num_train=4, num_val=1,
                              num_test=NUM_TEST, image_size=SIZE)
    config = str(tmp / f'catr_tiny_synthavs_{subset}.py')
    num_classes = write_config(subset, data_root, config)
    work_dir, test_dir = str(tmp / 'work'), str(tmp / 'test')
    pred_dir, show_dir = str(tmp / 'pred'), str(tmp / 'show')
    train = run_tool([osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir],
                     cwd=str(tmp))
    assert 'Epoch(val) [1]' in train.stdout + train.stderr
    proc = run_tool([osp.join(REPO_ROOT, 'tools', 'test.py'), config,
                     osp.join(work_dir, 'epoch_1.pth'), '--work-dir', test_dir,
                     '--out-dir', pred_dir, '--show-dir', show_dir], cwd=str(tmp))
    return SimpleNamespace(subset=subset, data_root=data_root, num_classes=num_classes,
                           pred_dir=pred_dir, show_dir=show_dir, test_dir=test_dir,
                           log=proc.stdout + proc.stderr)


def test_one_mask_per_labelled_test_frame_in_avsbench_layout(tested):
    expected = gt_mask_relpaths(tested.subset, tested.data_root)
    if tested.subset == 'ms3':
        assert len(expected) == 5 * NUM_TEST  # all 5 frames of MS3 test clips are labelled
        assert all(len(p.split(osp.sep)) == 2 for p in expected)
    else:
        # the premise: test clips of 5 labelled frames (padded to 10) and of 10
        lengths = {len(glob.glob(osp.join(tested.data_root, *p.split(osp.sep)[:3], '*.png')))
                   for p in expected}
        assert lengths == {5, 10}
        assert all(p.split(osp.sep)[2] == 'labels_rgb' for p in expected)
    # exactly the ground truth's files: nothing for padding frames, nothing else
    assert written_relpaths(tested.pred_dir) == expected
    assert f'wrote {len(expected)} predicted masks to {tested.pred_dir}' in tested.log
    assert len(glob.glob(osp.join(tested.show_dir, '*.jpg'))) == NUM_TEST


def test_masks_decode_with_the_label_size_and_values(tested):
    gt_root = (osp.join(tested.data_root, 'gt_masks', 'test') if tested.subset == 'ms3'
               else tested.data_root)
    for rel in written_relpaths(tested.pred_dir):
        with Image.open(osp.join(gt_root, rel)) as gt:
            gt_size = gt.size
        with Image.open(osp.join(tested.pred_dir, rel)) as image:
            assert image.format == 'PNG' and image.size == gt_size == (SIZE, SIZE)
            values = np.asarray(image)
            if tested.subset == 'ms3':
                assert image.mode == 'L'  # binary PNG, 0 / 255 like AVSBench's masks
                assert set(np.unique(values).tolist()) <= {0, 255}
                continue
            assert image.mode == 'P'  # class indices, shown with the VOC palette
            assert values.max() < tested.num_classes
            palette = np.asarray(image.getpalette()[:3 * tested.num_classes]).reshape(-1, 3)
            assert (palette == voc_palette(tested.num_classes)).all()
            # read as a colour label file, it gives back the same class indices
            decoded, unknown = rgb_to_class_map(np.asarray(image.convert('RGB')),
                                                tested.num_classes)
            assert not unknown.any() and (decoded == values).all()


def test_metrics_and_tables_are_logged(tested):
    scalars = last_scalars(tested.test_dir)
    assert 0.0 <= scalars['mIoU'] <= 1.0 and 0.0 <= scalars['F-score'] <= 1.0
    test_line = [line for line in tested.log.splitlines() if 'Epoch(test)' in line]
    assert test_line and 'mIoU:' in test_line[-1] and 'F-score:' in test_line[-1]
    if tested.subset == 'ms3':
        # MS3 clips have no category (''): no per-category table, the dataset values only
        assert 'F-score(dataset):' in test_line[-1]
        assert 'per-category results' not in tested.log
    else:
        log = tested.log.splitlines()
        start = next(i for i, line in enumerate(log)
                     if 'per-class results (x100; without padding frames; 30 frames)' in line)
        rows = [[c.strip() for c in line.strip('|').split('|')]
                for line in log[start + 1:start + 4 + tested.num_classes]
                if line.startswith('| ')]
        with open(osp.join(tested.data_root, 'label2idx.json')) as f:
            names = list(json.load(f))  # in index order, background first
        assert rows[0] == ['class', 'frames', 'IoU', 'F-score']
        assert [r[0] for r in rows[1:]] == names
        assert rows[1][1] == '30'  # every scored frame has background in its label
