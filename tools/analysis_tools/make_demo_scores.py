"""Write synthetic, AVSBench-shaped score files to try score_protocols.py without a model.

    python tools/analysis_tools/make_demo_scores.py OUT_DIR --task binary|semantic
        [--clips N] [--seed S]

Seeded boxes and noise (:mod:`catravs.analysis.protocol_demo`): binary clips of 5 frames
with some empty ground truths, AVSS clips of 10 frames with padding frames and 71 classes.
"""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir')
    p.add_argument('--task', choices=('binary', 'semantic'), default='binary')
    p.add_argument('--clips', type=int, default=200)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    from catravs.analysis.protocol_demo import write_demo_scores
    n = write_demo_scores(args.out_dir, args.task, args.clips, args.seed)
    print(f'wrote {n} {args.task} score files to {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
