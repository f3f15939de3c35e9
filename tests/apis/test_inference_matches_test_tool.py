"""inference_model and tools/video_demo.py on SynthAVS test clips given as video files =
tools/test.py on those clips, with a trained checkpoint."""
from __future__ import annotations

import csv
import glob
import importlib.util
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from catravs.apis import inference_model, init_model
from catravs.datasets.synthavs import make_synthavs
from tests.conftest import REPO_ROOT
from tests.tools.test_train_test import CONFIG, run_tool, run_tool_in_process, tiny_options

from .test_inference_model import clip_as_video, clip_files

pytest.importorskip('av')
#: one worker trains the module's tiny run, once (pytest-xdist --dist loadgroup)
pytestmark = pytest.mark.xdist_group('inference_matches_test_tool')


@pytest.fixture(scope='module')
def trained(tmp_path_factory) -> dict:
    """A 1-epoch checkpoint of the demo config on 6 clips (a tools/train.py process), two
    test clips as lossless videos, and tools/test.py's masks of those clips (in the
    AVSBench layout; its ``main()`` in this process)."""
    tmp_path = tmp_path_factory.mktemp('trained')
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
    with pytest.MonkeyPatch.context() as monkeypatch:  # tools/test.py's main() in-process
        run_tool_in_process(osp.join(REPO_ROOT, 'tools', 'test.py'),
                            [CONFIG, ckpt, '--work-dir', work, '--out-dir', pred,
                             '--cfg-options', *opts,
                             f'model.test_cfg.mask_threshold={threshold!r}'],
                            str(tmp_path), monkeypatch)
    return dict(data=data, ckpt=ckpt, model=model, clips=clips, videos=videos, pred=pred,
                threshold=threshold, tmp=tmp_path)


def tool_mask_files(trained: dict, frames: list[str]) -> list[str]:
    """tools/test.py's mask files of a clip, in frame order."""
    category, name = frames[0].split(osp.sep)[-3:-1]
    paths = sorted(glob.glob(osp.join(trained['pred'], category, name, '*.png')),
                   key=lambda p: int(osp.splitext(p)[0].rsplit('_', 1)[1]))
    assert len(paths) == 5
    return paths


@pytest.mark.slow
def test_video_file_masks_equal_test_tool_masks(trained):
    data, pred = trained['data'], trained['pred']
    inter = union = fg = 0
    for (frames, _), video in zip(trained['clips'], trained['videos']):
        sample = inference_model(trained['model'], video)[0]
        for t, path in enumerate(tool_mask_files(trained, frames)):
            expected = np.array(Image.open(path)) > 0
            np.testing.assert_array_equal(sample.pred_masks[t].numpy() > 0, expected,
                                          err_msg=f'{path} frame {t}')
            gt = np.array(Image.open(path.replace(pred, osp.join(data, 'gt_masks', 'test')))) > 0
            fg += int(expected.sum())
            inter += int((expected & gt).sum())
            union += int((expected | gt).sum())
    assert 0 < fg < expected.size * 10  # neither empty nor full
    print(f'IoU of the 1-epoch model with the ground truth: {inter / max(union, 1):.3f}')


@pytest.mark.slow
def test_video_demo_with_a_trained_checkpoint_draws_test_tool_masks(trained, capsys):
    """video_demo's masks are tools/test.py's; its overlays change the frame exactly inside
    them; frames.csv gives the sampled times (1 frame per second: second k at k s)."""
    spec = importlib.util.spec_from_file_location(
        'video_demo', osp.join(REPO_ROOT, 'tools', 'video_demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    config = trained['tmp'] / 'thresholded.py'
    config.write_text(f"_base_ = [{CONFIG!r}]\nmodel = dict(decoder=dict(num_queries=4), "
                      f"test_cfg=dict(mask_threshold={trained['threshold']!r}))\n")
    frames, _ = trained['clips'][0]
    out_dir = str(trained['tmp'] / 'demo')
    code = demo.main([trained['videos'][0], str(config), trained['ckpt'], '--out-dir', out_dir])
    log = capsys.readouterr()
    assert code == 0, log.out + log.err
    drawn = 0
    for t, path in enumerate(tool_mask_files(trained, frames)):
        expected = np.array(Image.open(path)) > 0
        mask = np.array(Image.open(osp.join(out_dir, 'masks', f'{t:06d}.png'))) > 0
        np.testing.assert_array_equal(mask, expected, err_msg=f'frame {t}')
        overlay = np.array(Image.open(osp.join(out_dir, 'overlays', f'{t:06d}.png'))).astype(int)
        frame = np.array(Image.open(frames[t]).convert('RGB')).astype(int)
        np.testing.assert_array_equal(overlay[~mask], frame[~mask])  # lossless video
        if mask.any():  # colour mixed in, and the yellow outline, on the mask's pixels
            assert np.abs(overlay[mask] - frame[mask]).sum(axis=-1).min() > 0
            drawn += 1
    assert drawn
    with open(osp.join(out_dir, 'frames.csv')) as f:
        assert [float(r['time_s']) for r in csv.DictReader(f)] == [0.0, 1.0, 2.0, 3.0, 4.0]
