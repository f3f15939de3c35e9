#!/usr/bin/env python
"""Write a SynthAVS dataset (synthetic clips in AVSBench's exact on-disk layout).

Example::

    python tools/dataset_converters/make_synthavs.py --subset s4 --out data/synthavs_s4 \
        --num-train 400 --num-val 50 --num-test 50 --size 64 --seed 0
"""
from __future__ import annotations

import argparse
import sys
import time

from catravs.datasets.synthavs import make_synthavs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--subset', required=True, choices=['s4', 'ms3', 'avss'])
    parser.add_argument('--out', required=True, help='output folder (the data_root)')
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--num-test', type=int, default=50)
    parser.add_argument('--size', type=int, default=64, help='frame size (square)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-kinds', type=int, default=5, help='object kinds (2..5)')
    parser.add_argument('--avss-labels', nargs='+', default=['v1s', 'v1m', 'v2'],
                        choices=['v1s', 'v1m', 'v2'])
    parser.add_argument('--sources', default='per_second', choices=['per_second', 'per_clip'],
                        help='sounding objects drawn every second, or once per clip '
                        '(as AVSBench S4)')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    root = make_synthavs(args.out, args.subset, num_train=args.num_train, num_val=args.num_val,
                         num_test=args.num_test, image_size=args.size, seed=args.seed,
                         num_kinds=args.num_kinds, avss_labels=tuple(args.avss_labels),
                         sources=args.sources,
                         progress=not args.no_progress)
    total = args.num_train + args.num_val + args.num_test
    print(f'SynthAVS {args.subset}: {total} clips written to {root} '
          f'in {time.perf_counter() - start:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
