"""ClipVisualizationHook: TensorBoard images and scalars of a short training run, read back
with TensorBoard's own event reader."""
from __future__ import annotations

import glob
import os.path as osp

import pytest

from catravs.datasets.synthavs import make_synthavs
from catravs.registry import HOOKS
from tests.conftest import REPO_ROOT
from tests.tools.test_train_test import CONFIG, run_tool, tiny_options

event_accumulator = pytest.importorskip('tensorboard.backend.event_processing.event_accumulator')


def read_events(work_dir: str) -> tuple[dict, dict]:
    """``(scalars, images)``: tag -> list of (step, value) or (step, (width, height),
    encoded PNG), all runs."""
    scalars: dict = {}
    images: dict = {}
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    assert files, f'no TensorBoard event file under {work_dir}'
    for path in files:
        acc = event_accumulator.EventAccumulator(path, size_guidance={'images': 0, 'scalars': 0})
        acc.Reload()
        for tag in acc.Tags()['scalars']:
            scalars.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
        for tag in acc.Tags()['images']:
            images.setdefault(tag, []).extend(
                (e.step, (e.width, e.height), e.encoded_image_string) for e in acc.Images(tag))
    return scalars, images


def test_hook_is_registered_and_checks_its_arguments():
    assert HOOKS.get('ClipVisualizationHook') is not None
    with pytest.raises(ValueError):
        HOOKS.build(dict(type='ClipVisualizationHook', interval=0))


@pytest.mark.slow
def test_training_writes_tensorboard_scalars_and_clip_images(tmp_path):
    data = make_synthavs(str(tmp_path / 's4'), 's4', num_train=4, num_val=3, num_test=3,
                         image_size=64)
    work = str(tmp_path / 'work')
    opts = [o for o in tiny_options(data) if not o.startswith('train_cfg.max_epochs')]
    run_tool([osp.join(REPO_ROOT, 'tools', 'train.py'), CONFIG, '--work-dir', work, '--test',
              '--cfg-options', *opts, 'train_cfg.max_epochs=2',
              'default_hooks.visualization.num_clips=2',
              'default_hooks.visualization.interval=2'], cwd=str(tmp_path))
    scalars, images = read_events(work)
    for tag in ('loss', 'lr', 'mIoU', 'F-score'):
        assert tag in scalars, sorted(scalars)
    assert {step for step, _ in scalars['mIoU']} >= {1, 2}
    # two fixed clips (dataset indices 0, 1) at validation 1 of 2 (interval 2), and at test
    val = sorted(t for t in images if t.startswith('val_'))
    test = sorted(t for t in images if t.startswith('test_'))
    assert len(val) == 2 and len(test) == 2, sorted(images)
    for tag in val:
        assert [event[0] for event in images[tag]] == [1]
    for tag in val + test:
        # ground truth above prediction: 2 rows of 64 x 64 frames, 5 frames side by side
        assert images[tag][0][1] == (5 * 64, 2 * 64)
    pngs = glob.glob(osp.join(work, '*', 'vis_data', 'vis_image', '*.png'))
    assert len(pngs) == 4, pngs
    for tag in val + test:
        check_ground_truth_row(images[tag][0][2], data, tag.split('_', 1)[1])


def check_ground_truth_row(png: bytes, data_root: str, clip_id: str) -> None:
    """The top row is each frame with its ground-truth mask drawn (not the bare frame):
    inside the mask the colour is mixed in, outside the frame is untouched. Oracle: the
    frame and mask files of the clip."""
    import io

    import numpy as np
    from PIL import Image
    image = np.asarray(Image.open(io.BytesIO(png)).convert('RGB')).astype(int)
    frame_files = sorted(glob.glob(osp.join(data_root, 'visual_frames', '*', '*', clip_id,
                                            '*.png')))
    mask_files = sorted(glob.glob(osp.join(data_root, 'gt_masks', '*', '*', clip_id, '*.png')))
    assert len(frame_files) == 5 and len(mask_files) == 5, (clip_id, frame_files)
    drawn = 0
    for t, (frame_file, mask_file) in enumerate(zip(frame_files, mask_files)):
        frame = np.asarray(Image.open(frame_file).convert('RGB')).astype(int)
        mask = np.asarray(Image.open(mask_file).convert('L')) > 0
        top = image[:64, 64 * t:64 * (t + 1)]
        np.testing.assert_array_equal(top[~mask], frame[~mask])
        if mask.any():
            assert np.abs(top[mask] - frame[mask]).mean() > 20, f'{clip_id} frame {t}: no mask'
            drawn += 1
    assert drawn, f'{clip_id}: no frame with a ground-truth mask'
