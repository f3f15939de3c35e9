#!/usr/bin/env python
"""Check every file an AVS dataset's csv names; exit 1 when any problem is found.

Example::

    python tools/misc/check_dataset.py data/synthavs_s4 --subset s4
    python tools/misc/check_dataset.py data/AVSBench/Single-source --subset s4 \
        --data-prefix frames=s4_data/visual_frames masks=s4_data/gt_masks \
        wav=s4_data/audio_wav log_mel=s4_data/audio_log_mel
"""
from __future__ import annotations

import argparse
import sys

from catravs.datasets.checks import check_dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='dataset root (data_root)')
    parser.add_argument('--subset', required=True, choices=['s4', 'ms3', 'avss'])
    parser.add_argument('--split', nargs='+', default=['train', 'val', 'test'],
                        choices=['train', 'val', 'test'], help='splits to check')
    parser.add_argument('--ann-file', default=None, help='csv relative to root')
    parser.add_argument('--data-prefix', nargs='*', default=[], metavar='KEY=DIR',
                        help='override data_prefix entries, e.g. frames=s4_data/visual_frames')
    parser.add_argument('--size', type=int, nargs=2, default=None, metavar=('H', 'W'),
                        help='expected frame size')
    parser.add_argument('--no-audio', action='store_true', help='skip wav/log-mel files')
    parser.add_argument('--max-print', type=int, default=200, help='problems to print')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    kwargs = {}
    if args.ann_file:
        kwargs['ann_file'] = args.ann_file
    if args.data_prefix:
        kwargs['data_prefix'] = dict(item.split('=', 1) for item in args.data_prefix)
    report = check_dataset(args.root, args.subset, splits=args.split,
                           image_size=tuple(args.size) if args.size else None,
                           check_audio=not args.no_audio, progress=True, **kwargs)
    print(f'checked {report.num_clips} clips, {report.num_files} files: '
          f'{len(report.problems)} problem(s)')
    for problem in report.problems[:args.max_print]:
        print(f'  {problem}')
    if len(report.problems) > args.max_print:
        print(f'  ... and {len(report.problems) - args.max_print} more')
    return 1 if report.problems else 0


if __name__ == '__main__':
    sys.exit(main())
