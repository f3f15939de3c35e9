"""Time a released method's own training step (the reference path's reference).

``python tools/analysis_tools/released_step.py --method {catr,tpavi} --released-root DIR
[--device cpu|cuda] [--shape T H W] [--steps N] [--warmup N] [--threads N] [--json-out F]``

DIR is the released code's folder: for ``catr`` the ``CATR/`` folder of a checkout of
aspirinone/CATR.github.io, for ``tpavi`` the ``avs_scripts/avs_s4/`` folder of
OpenNLPLab/AVSBench. The measurement runs in a fresh process with that folder first on its
``PYTHONPATH`` (the released code imports itself by top-level names; this process's
``sys.path`` and torch stay untouched), which imports it read-only with run-time patches
(:mod:`catravs.analysis.released_step`): random weights, VGGish embeddings given, one
clip, float32. Prints the median step time
and the peak memory. ``benchmark.py --compare-reference --released-root PATH`` runs it in
turn with the reference path and catravs' path. Figures: docs/benchmark.md.
"""
import argparse
import json
import os.path as osp
import sys


def parse_args(argv=None) -> argparse.Namespace:
    from catravs.analysis.released_step import RELEASED_METHODS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--method', required=True, choices=sorted(RELEASED_METHODS),
                   help='whose released code (catravs.analysis.released_step)')
    p.add_argument('--released-root', required=True,
                   help="the released code's folder: CATR/ of aspirinone/CATR.github.io "
                        '(catr), avs_scripts/avs_s4/ of OpenNLPLab/AVSBench (tpavi)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--shape', type=int, nargs=3, default=(5, 224, 224), metavar=('T', 'H', 'W'))
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    p.add_argument('--json-out', default=None)
    p.add_argument('--worker-out', default=None, help=argparse.SUPPRESS)
    p.add_argument('--status-file', default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    root = osp.abspath(args.released_root)
    if not args.worker_out:  # measure in a fresh process whose PYTHONPATH holds root
        from catravs.analysis.bench_compare import run_worker
        result = run_worker(osp.abspath(__file__), [
            '--method', args.method, '--released-root', root, '--device', args.device, '--shape',
            *map(str, args.shape), '--steps', str(args.steps), '--warmup', str(args.warmup),
            *(['--threads', str(args.threads)] if args.threads else [])], pythonpath=[root])
    else:
        import torch

        from catravs.analysis.released_step import measure_released_step
        if args.threads:
            torch.set_num_threads(args.threads)
        status = (lambda text: open(args.status_file, 'w').write(text)) \
            if args.status_file else None
        result = measure_released_step(args.method, root, args.shape, args.steps, args.warmup,
                                       args.device, status)
        with open(args.worker_out, 'w') as f:
            json.dump(result, f)
        return ''
    t, h, w = result['shape']
    text = (f'released {args.method.upper()} ({root}), 1x{t}x{h}x{w}, {args.device}: '
            f'{result["step_s"]:.3f} s/step (median of {len(result["times"])}), '
            f'first step {result["first_step_s"]:.3f} s, '
            f'peak {result["peak_bytes"] / 1024 ** 3:.2f} GiB')
    print(text)
    if args.json_out:
        with open(args.json_out, 'w') as f:
            json.dump(dict(args=vars(args), result=result, text=text), f, indent=1)
    return text


if __name__ == '__main__':
    sys.exit(0 if main() is not None else 1)
