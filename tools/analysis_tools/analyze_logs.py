"""Plot training curves from MMEngine's json scalars, one or several runs.

    python tools/analysis_tools/analyze_logs.py plot_curve WORK_DIR [WORK_DIR ...] \
        --keys loss mIoU [--legend NAME ...] [--out curves.png]

WORK_DIR is a work dir (every ``{timestamp}/vis_data/scalars.json`` under it is read, in
time order, so a resumed run continues its curve), one run folder, or a ``scalars.json``
file. Each key gets its own panel: training keys (``loss``, ``lr``, ...) against the
iteration, validation keys (``mIoU``, ...) against the epoch (the iteration for
iteration-based runs). Curves are named by run (the work dir's folder name, or --legend).
"""
from __future__ import annotations

import argparse
import glob
import json
import os.path as osp
import sys


def scalar_files(path: str) -> list[str]:
    """The ``scalars.json`` files of a work dir, a run folder or a file, oldest first."""
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'work dir not found: {path}')
    files = sorted(glob.glob(osp.join(path, 'vis_data', 'scalars.json')) +
                   glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no {{timestamp}}/vis_data/scalars.json under {path}: is it '
                                'an MMEngine work dir?')
    return files


def load_curves(path: str, keys: list[str]) -> dict[str, tuple[list[float], list[float], bool]]:
    """``key -> (x, y, is_training)``; a step logged twice (resume) keeps its last value."""
    points: dict[str, dict[float, float]] = {k: {} for k in keys}
    training: dict[str, bool] = {}
    for file in scalar_files(path):
        with open(file, encoding='utf-8') as f:
            for num, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f'{file} line {num} is not json: {err}') from err
                is_train = 'iter' in record
                x = record['iter'] if is_train else record.get('step')
                for key in keys:
                    if key in record and x is not None:
                        points[key][float(x)] = float(record[key])
                        training[key] = is_train
    return {k: (sorted(v), [v[x] for x in sorted(v)], training.get(k, False))
            for k, v in points.items() if v}


def plot_curve(work_dirs: list[str], keys: list[str], out: str,
               legends: list[str] | None = None, title: str | None = None) -> str:
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError('plotting needs matplotlib: pip install -e ".[analysis]"') from err
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if legends and len(legends) != len(work_dirs):
        raise ValueError(f'{len(legends)} legends for {len(work_dirs)} work dirs')
    names = legends or [osp.basename(osp.normpath(d)) for d in work_dirs]
    runs = [load_curves(d, keys) for d in work_dirs]
    for key in keys:
        if not any(key in run for run in runs):
            raise KeyError(f"no run logs the key '{key}'; {work_dirs[0]} logs "
                           f'{sorted(available_keys(work_dirs[0]))}')
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name, run in zip(names, runs):
            if key in run:
                x, y, is_train = run[key]
                ax.plot(x, y, label=name, marker=None if is_train else 'o', markersize=3)
                ax.set_xlabel('iteration' if is_train else 'epoch (validation)')
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def available_keys(path: str) -> set[str]:
    keys: set[str] = set()
    for file in scalar_files(path):
        with open(file, encoding='utf-8') as f:
            for line in f:
                if line.strip():
                    keys |= set(json.loads(line))
    return keys - {'step', 'iter', 'epoch'}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='Analyse MMEngine json logs')
    sub = parser.add_subparsers(dest='command', required=True)
    plot = sub.add_parser('plot_curve', help='plot scalars of one or several runs')
    plot.add_argument('work_dirs', nargs='+', help='work dirs, run folders or scalars.json')
    plot.add_argument('--keys', nargs='+', default=['loss', 'mIoU'], help='scalars to plot')
    plot.add_argument('--legend', nargs='+', help='one name per work dir')
    plot.add_argument('--title', help='figure title')
    plot.add_argument('--out', default='curves.png', help='output image')
    args = parser.parse_args(argv)
    try:
        out = plot_curve(args.work_dirs, args.keys, args.out, args.legend, args.title)
    except (FileNotFoundError, KeyError, ValueError) as err:
        print(f'analyze_logs: error: {err.args[0] if err.args else err}', file=sys.stderr)
        return 1
    print(f'analyze_logs: wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
