"""Segment the sounding objects of a video: mask and overlay PNGs, and an overlay mp4 with sound.

    python tools/video_demo.py VIDEO CONFIG [CHECKPOINT] --out-dir DIR [--device cpu|cuda]
        [--fps N] [--allow-silent] [--overwrite] [--allow-partial]

Frames are sampled as AVSBench samples them (the last frame of each second, paired with
that second of audio) and cut into clips of the config's T frames (the last clip padded
as the datasets pad). ``--fps N`` runs N interleaved one-frame-per-second passes (pass j
starts j/N s later) and so gives N masks per second. Everything is written into a
hidden temporary folder next to DIR and moved into place at the end: an interrupted or
failed run leaves no DIR behind. Needs PyAV (``pip install -e '.[video]'``).

DIR/masks/{i:06d}.png     prediction (binary 0/255, or the VOC palette for semantic models)
DIR/overlays/{i:06d}.png  the frame with the prediction drawn on it (and outlined)
DIR/overlay.mp4           the overlays at N frames per second, with the video's soundtrack
DIR/frames.csv            i, second, pass, time (s) of each sampled frame
DIR/summary.json          what ran on what, and how fast
"""
import argparse
import csv
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time
import warnings


class DemoError(Exception):
    """A bad input: the message names the file."""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Run a catravs model on a video with sound')
    parser.add_argument('video', help='any video with a soundtrack that FFmpeg reads')
    parser.add_argument('config', help='model config (its test pipeline is applied)')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint; without: initial weights')
    parser.add_argument('--out-dir', required=True, help='output folder (must not exist, '
                        'or be empty, unless --overwrite)')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--fps', type=int, default=1,
                        help='masks per second: N interleaved one-frame-per-second passes')
    parser.add_argument('--allow-silent', action='store_true',
                        help='run a video without soundtrack with silence as its audio')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out-dir')
    parser.add_argument('--allow-partial', action='store_true',
                        help='load a checkpoint that lacks some weights of the model (they keep '
                        'their initial values); by default that stops the run, naming the keys')
    parser.add_argument('--batch-size', type=int, default=1, help='clips per forward pass')
    args = parser.parse_args(argv)
    if args.fps < 1:
        parser.error(f'--fps must be >= 1, got {args.fps}')
    return args


def check_inputs(args: argparse.Namespace):
    """Fail early, naming the file; returns ``(config, has_audio)``."""
    from catravs.apis import load_config
    from catravs.apis.clip_inference import test_pipeline_of
    from catravs.apis.video_io import open_video

    if not osp.isfile(args.video):
        raise DemoError(f'video file not found: {args.video}')
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if path is not None and not osp.isfile(path):
            raise DemoError(f'{what} file not found: {path}')
    try:
        cfg = load_config(args.config)
        test_pipeline_of(cfg, from_arrays=True)
        if 'model' not in cfg:
            raise KeyError('no model')
    except Exception as err:
        raise DemoError(f'config {args.config} is not a catravs model config with a test '
                        f'pipeline: {type(err).__name__}: {err}') from err
    with open_video(args.video) as container:
        if not container.streams.video:
            raise DemoError(f'{args.video} holds no video stream')
        has_audio = bool(container.streams.audio)
    if not has_audio and not args.allow_silent:
        raise DemoError(f'{args.video} has no soundtrack; the model segments what makes the '
                        'sound. --allow-silent runs it with silence instead')
    if args.device.startswith('cuda'):
        import torch
        if not torch.cuda.is_available():
            raise DemoError(f'--device {args.device}: CUDA is not available here')
    return cfg, has_audio


def prepare_out_dir(out_dir: str, overwrite: bool) -> str:
    """A fresh hidden temporary folder next to ``out_dir``."""
    if osp.exists(out_dir) and not (osp.isdir(out_dir) and not os.listdir(out_dir)) \
            and not overwrite:
        raise DemoError(f'output folder {out_dir} exists and is not empty; use --overwrite '
                        'or another --out-dir')
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(prefix=f'.{osp.basename(osp.abspath(out_dir))}.partial-',
                            dir=parent)


def move_into_place(tmp: str, out_dir: str) -> None:
    if osp.lexists(out_dir):
        old = tmp + '.old'
        os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True) if osp.isdir(old) else os.remove(old)
    else:
        os.replace(tmp, out_dir)


def outline(overlay, mask):
    """Draw the border of the predicted regions in yellow, on their own pixels (so the
    background stays the frame), to see them on objects of any colour."""
    import cv2
    import numpy as np

    from catravs.structures import IGNORE_INDEX
    contours, _ = cv2.findContours(((mask > 0) & (mask != IGNORE_INDEX)).astype(np.uint8),
                                   cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return cv2.drawContours(np.ascontiguousarray(overlay), contours, -1, (255, 255, 0), 1)


def run(args, cfg, has_audio: bool, tmp: str) -> dict:
    import numpy as np
    from mmcv import imwrite
    from tqdm import tqdm

    from catravs.apis import inference_model, init_model
    from catravs.apis.clip_inference import test_pipeline_of
    from catravs.apis.video_io import (
        SoundtrackReader,
        VideoWriter,
        iter_sampled_frames,
        open_video,
    )
    from catravs.engine.hooks.prediction_writer_hook import write_binary_png, write_palette_png
    from catravs.utils.segmentation_task import segmentation_task
    from catravs.utils.vggish_params import VGGISH_SAMPLE_RATE
    from catravs.visualization import overlay_mask

    if args.checkpoint is None:
        warnings.warn('no checkpoint given: the model runs with its initial (untrained) '
                      'weights, so the masks mean nothing', stacklevel=1)
    model = init_model(cfg, args.checkpoint, device=args.device, strict=not args.allow_partial)
    T, _ = test_pipeline_of(cfg, from_arrays=True)
    N = args.fps
    semantic = segmentation_task(model) == 'semantic'
    reader = SoundtrackReader(args.video) if has_audio else None
    rate = reader.sample_rate if reader else VGGISH_SAMPLE_RATE
    writer, rows, silent = None, [], []
    n_clips = n_frames = 0
    started = time.perf_counter()
    for sub in ('masks', 'overlays'):
        os.makedirs(osp.join(tmp, sub))

    def process(chunk: int, frames: list) -> None:
        nonlocal writer, n_clips, n_frames
        outputs = []
        for j in range(N):
            clip = [f for f in frames if f.phase == j]
            if not clip:
                continue
            start = round((chunk * T + j / N) * rate)
            if reader is not None:
                wave = reader.read(start, start + T * rate)
            else:
                wave = np.zeros(T * rate, np.float32)
            sample = inference_model(model, [f.image for f in clip], audio=(wave, rate),
                                     batch_size=args.batch_size, first_clip=n_clips,
                                     start_seconds=chunk * T + j / N)[0]
            if reader is not None and sample.metainfo.get('audio_silence'):
                silent.append(dict(clip=n_clips, start_s=round(chunk * T + j / N, 3),
                                   end_s=round(clip[-1].second + 1 + j / N, 3)))
            n_clips += 1
            for t, f in enumerate(clip):
                outputs.append((f, sample.pred_masks[t].numpy()))
        if reader is not None:
            reader.discard_before(round((chunk + 1) * T * rate))
        for f, mask in sorted(outputs, key=lambda o: (o[0].second, o[0].phase)):
            index = f.second * N + f.phase
            name = f'{index:06d}.png'
            (write_palette_png if semantic else write_binary_png)(
                mask, osp.join(tmp, 'masks', name))
            overlay = outline(overlay_mask(f.image[..., ::-1], mask), mask)
            imwrite(overlay[..., ::-1], osp.join(tmp, 'overlays', name))
            if writer is None:
                h, w = overlay.shape[:2]
                writer = VideoWriter(osp.join(tmp, 'overlay.mp4'), w, h, N,
                                     audio_from=args.video if has_audio else None)
                for pad in range(N - 1):  # before the first sample's slot
                    writer.write(overlay, pad)
            writer.write(overlay, index + N - 1)
            rows.append((index, f.second, f.phase, f'{f.time:.3f}'))
            n_frames += 1
            bar.update(1)

    with open_video(args.video) as container:
        duration = (container.duration or 0) / 1e6
    bar = tqdm(total=int(duration) * N or None, unit='frame', desc='video_demo')
    pending, chunk = [], 0
    try:
        for f in iter_sampled_frames(args.video, N):
            if f.second >= (chunk + 1) * T:
                process(chunk, pending)
                pending, chunk = [], chunk + 1
            pending.append(f)
        if pending:
            process(chunk, pending)
    finally:
        bar.close()
        if reader is not None:
            reader.close()
        if writer is not None:
            writer.close()
    if n_frames == 0 and duration >= 1:
        raise DemoError(f'{args.video}: decoding gave less than one second of frames, though the '
                        f'file says it lasts {duration:.2f} s: its video data is damaged')
    if n_frames == 0:
        raise DemoError(f'{args.video} is shorter than one second ({duration:.2f} s): no frame '
                        'to sample (one frame per second of audio)')
    with open(osp.join(tmp, 'frames.csv'), 'w', newline='') as fh:
        csv.writer(fh).writerows([('index', 'second', 'pass', 'time_s'), *rows])
    elapsed = time.perf_counter() - started
    summary = dict(video=osp.abspath(args.video), config=osp.abspath(args.config),
                   checkpoint=args.checkpoint and osp.abspath(args.checkpoint),
                   device=args.device, masks_per_second=N, frames_per_clip=T,
                   clips=n_clips, frames=n_frames, video_seconds=rows[-1][1] + 1,
                   audio='soundtrack' if has_audio else 'silence (--allow-silent)',
                   silent_clips=silent,
                   elapsed_seconds=round(elapsed, 3),
                   frames_per_second=round(n_frames / max(elapsed, 1e-9), 3))
    with open(osp.join(tmp, 'summary.json'), 'w') as fh:
        json.dump(summary, fh, indent=2)
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        from catravs.apis.video_io import VideoReadError, import_av
        from catravs.engine.strict_loading import CheckpointMismatchError
        import_av()
        cfg, has_audio = check_inputs(args)
        tmp = prepare_out_dir(args.out_dir, args.overwrite)
        try:
            summary = run(args, cfg, has_audio, tmp)
            move_into_place(tmp, args.out_dir)
        finally:
            if osp.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
    except (DemoError, VideoReadError, ImportError, CheckpointMismatchError) as err:
        print(f'video_demo: error: {err}', file=sys.stderr)
        return 1
    if not has_audio:
        print('video_demo: the video has no soundtrack; it ran with silence (--allow-silent)')
    print(f"video_demo: {summary['clips']} clips, {summary['frames']} frames, "
          f"{summary['video_seconds']} s of video in {summary['elapsed_seconds']:.1f} s, "
          f"{summary['frames_per_second']:.2f} frames/s -> {args.out_dir}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
