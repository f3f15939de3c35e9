"""Score one set of saved predictions under each AVS method's released evaluation protocol.

    python tools/test.py CONFIG CHECKPOINT --score-dir SCORES
    python tools/analysis_tools/score_protocols.py SCORES [--json OUT.json]
        [--background-index 0]

SCORES holds one ``.npz`` per clip (predictions and labels, see
:mod:`catravs.evaluation.clip_scores`), so no model or dataset is needed. Prints one table,
protocol x (mIoU, F), each row with the released lines it follows: for S4 / MS3 the test
batch of CATR (1 clip), AVSegFormer (2) and TPAVI / AVSBench (4), the per-dataset values
and two other conventions for frames with an empty ground truth; for AVSS the padding
frames scored or not and "noBg" as released (last class dropped) or background dropped.
The definitions and an example: ``docs/evaluation_protocols.md``.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('score_dir', help='folder of per-clip .npz score files '
                   '(tools/test.py --score-dir)')
    p.add_argument('--json', dest='json_out', default=None,
                   help='also write the rows (scores in [0, 1], definitions) to this file')
    p.add_argument('--background-index', type=int, default=0,
                   help='AVSS background class (AVSBench: 0); padding frames are scored '
                   'against it')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from catravs.analysis.protocols import format_protocol_table, protocol_json, score_protocols
    from catravs.evaluation.clip_scores import load_score_dir
    try:
        records = load_score_dir(args.score_dir)
        result = score_protocols(records, background_index=args.background_index)
    except (FileNotFoundError, ValueError) as err:
        print(f'score_protocols: {err}', file=sys.stderr)
        return 1
    print(format_protocol_table(result))
    if args.json_out:
        os.makedirs(osp.dirname(osp.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, 'w') as f:
            f.write(protocol_json(result) + '\n')
        print(f'wrote {args.json_out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
