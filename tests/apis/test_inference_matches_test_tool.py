"""inference_model on a SynthAVS test clip given as a video file = tools/test.py on that clip."""
from __future__ import annotations

import glob
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from catravs.apis import inference_model, init_model
from catravs.datasets.synthavs import make_synthavs
from tests.conftest import REPO_ROOT
from tests.tools.test_train_test import CONFIG, run_tool, tiny_options

from .test_inference_model import clip_as_video, clip_files

pytest.importorskip('av')


@pytest.mark.slow
def test_video_file_masks_equal_test_tool_masks(tmp_path):
    data = make_synthavs(str(tmp_path / 's4'), 's4', num_train=6, num_val=2, num_test=2,
                         image_size=64)
    work, pred = str(tmp_path / 'work'), str(tmp_path / 'pred')
    opts = tiny_options(data)
    run_tool([osp.join(REPO_ROOT, 'tools', 'train.py'), CONFIG, '--work-dir', work,
              '--cfg-options', *opts], cwd=str(tmp_path))
    ckpt = osp.join(work, 'epoch_1.pth')
    model = init_model(CONFIG, ckpt, cfg_options=dict(model=dict(decoder=dict(num_queries=4))))
    clips = clip_files(data)
    assert len(clips) == 2
    videos = [clip_as_video(frames, wav, str(tmp_path / f'clip{i}.mkv'))
              for i, (frames, wav) in enumerate(clips)]
    # a model trained for one epoch on 6 clips is unsure: threshold its scores at their
    # median, so that both masks hold foreground and background and the comparison bites
    probs = np.concatenate([inference_model(model, v)[0].seg_logits.sigmoid().flatten().numpy()
                            for v in videos])
    threshold = float(np.median(probs))
    model.test_cfg['mask_threshold'] = threshold
    run_tool([osp.join(REPO_ROOT, 'tools', 'test.py'), CONFIG, ckpt, '--work-dir', work,
              '--out-dir', pred, '--cfg-options', *opts,
              f'model.test_cfg.mask_threshold={threshold!r}'], cwd=str(tmp_path))
    inter = union = 0
    fg = 0
    for (frames, _), video in zip(clips, videos):
        sample = inference_model(model, video)[0]
        category, name = frames[0].split(osp.sep)[-3:-1]
        tool = sorted(glob.glob(osp.join(pred, category, name, '*.png')),
                      key=lambda p: int(osp.splitext(p)[0].rsplit('_', 1)[1]))
        assert len(tool) == 5
        for t, path in enumerate(tool):
            expected = np.array(Image.open(path)) > 0
            np.testing.assert_array_equal(sample.pred_masks[t].numpy() > 0, expected,
                                          err_msg=f'{name} frame {t}')
            gt = np.array(Image.open(path.replace(pred, osp.join(data, 'gt_masks', 'test')))) > 0
            fg += int(expected.sum())
            inter += int((expected & gt).sum())
            union += int((expected | gt).sum())
    assert 0 < fg < expected.size * 10  # neither empty nor full
    print(f'IoU of the 1-epoch model with the ground truth: {inter / max(union, 1):.3f}')
