"""Train every ablation config, collect the best validation mIoU, update the README table.

``python tools/analysis_tools/run_ablations.py [--configs NAME ...] [--work-dir DIR]
[--cfg-options k=v ...] [--no-test] [--collect-only] [--no-readme]``

Each config of ``configs/catr/ablations/`` (``catr_tiny_full.py`` first) is trained in
its own subprocess through ``tools/train.py`` (with ``--test``: the checkpoint that is
best on the val split is then scored on the test split), each in its own work dir
``DIR/<config name>``. Afterwards the best val mIoU (and the F-score of that epoch) is
read from the run's ``vis_data/scalars.json``, the test scores from the run's json log,
and the table between ``<!-- ablations:start -->`` and ``<!-- ablations:end -->`` of
``configs/catr/README.md`` is rewritten; ``DIR/results.json`` keeps the numbers.

``--cfg-options`` is passed to every run (e.g. ``train_cfg.max_epochs=1`` for a quick
check; the table then says which options were used). ``--collect-only`` trains
nothing and rebuilds the table from the work dirs.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Any

from catravs.analysis.ablation_table import (  # noqa: F401
    MARK_END,
    MARK_START,
    format_duration,
    format_table,
    summarise_run,
    update_readme,
)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ABLATION_DIR = osp.join(REPO_ROOT, 'configs', 'catr', 'ablations')
README = osp.join(REPO_ROOT, 'configs', 'catr', 'README.md')
PREFIX = 'catr_tiny_'
#: table order; other configs of the folder follow alphabetically
ORDER = ('full', 'spatial_only', 'temporal_only', 'no_gate', 'visual_only',
         'cross_attention', 'audio_queries', 'frame_pos', 'released')


def variant_name(config: str) -> str:
    """``configs/catr/ablations/catr_tiny_no_gate.py`` -> ``no_gate``."""
    name = osp.splitext(osp.basename(config))[0]
    return name[len(PREFIX):] if name.startswith(PREFIX) else name


def discover_configs(folder: str = ABLATION_DIR, names: list[str] | None = None) -> list[str]:
    """The ablation configs of ``folder`` in table order (``names``: only these variants,
    given as variant names, file names or paths)."""
    configs = sorted(glob.glob(osp.join(folder, '*.py')))
    configs = [c for c in configs if not osp.basename(c).startswith('_')]
    rank = {v: i for i, v in enumerate(ORDER)}
    configs.sort(key=lambda c: (rank.get(variant_name(c), len(ORDER)), variant_name(c)))
    if names:
        wanted = {variant_name(n) for n in names}
        unknown = wanted - {variant_name(c) for c in configs}
        if unknown:
            raise ValueError(f'unknown ablation configs {sorted(unknown)}; known: '
                             f'{[variant_name(c) for c in configs]}')
        configs = [c for c in configs if variant_name(c) in wanted]
    return configs


def describe(config: str) -> str:
    """The config's leading comment, up to its first full stop."""
    lines = []
    with open(config) as f:
        for line in f:
            if not line.startswith('#'):
                break
            lines.append(line.lstrip('#').strip())
    text = ' '.join(lines)
    match = re.match(r'(.+?\.)(\s|$)', text)
    return (match.group(1) if match else text).rstrip('.')


def run_variant(config: str, work_dir: str, cfg_options: list[str], test: bool,
                python: str = sys.executable) -> dict[str, Any]:
    """Train one config in a subprocess (output to ``work_dir/run.log``)."""
    os.makedirs(work_dir, exist_ok=True)
    cmd = [python, osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir]
    if test:
        cmd.append('--test')
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    start = time.perf_counter()
    with open(osp.join(work_dir, 'run.log'), 'w') as log:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    info = dict(command=cmd, returncode=proc.returncode,
                seconds=time.perf_counter() - start, cfg_options=cfg_options)
    with open(osp.join(work_dir, 'run_info.json'), 'w') as f:
        json.dump(info, f, indent=1)
    return info


def _collect_run(work_dir: str) -> dict[str, Any]:
    """:func:`summarise_run` plus what ``run_info.json`` says. :func:`run_variant` writes
    that file when train.py has exited, so a run with validation records and without it
    is still going, or was killed: its status is ``'unfinished'``."""
    row = summarise_run(work_dir)
    info_path = osp.join(work_dir, 'run_info.json')
    if osp.isfile(info_path):
        with open(info_path) as f:
            info = json.load(f)
        row.update(seconds=info.get('seconds'), cfg_options=info.get('cfg_options', []))
        if info.get('returncode'):
            row['status'] = f'failed, rc={info["returncode"]}, see {work_dir}/run.log'
    elif row['status'] != 'no run':
        row['status'] = 'unfinished'
    return row


def run_dirs(work_root: str, config: str, seeds: list[int] | None) -> list[str]:
    """``work_root/<config>``, or one ``seed<s>`` sub-folder per seed."""
    work_dir = osp.join(work_root, osp.splitext(osp.basename(config))[0])
    return [work_dir] if not seeds else [osp.join(work_dir, f'seed{s}') for s in seeds]


def collect(configs: list[str], work_root: str,
            seeds: list[int] | None = None) -> list[dict[str, Any]]:
    """One row per config; with ``seeds``, the values become lists, one per seed whose
    run finished (a failed or unfinished run's partial scores are left out)."""
    rows = []
    for config in configs:
        runs = [_collect_run(d) for d in run_dirs(work_root, config, seeds)]
        row = dict(variant=variant_name(config), config=osp.relpath(config, REPO_ROOT),
                   description=describe(config), **runs[0])
        if seeds:
            finished = [r for r in runs if r['status'] == 'ok']
            for key in ('best_val', 'best_val_f', 'best_epoch', 'test', 'test_f'):
                row[key] = [r[key] for r in finished if r.get(key) is not None]
            row['seconds'] = sum(r.get('seconds') or 0 for r in finished) or None
            unfinished = sum(r['status'] == 'unfinished' for r in runs)
            missing = sum(r['status'] == 'no run' for r in runs)
            failed = len(runs) - len(finished) - unfinished - missing
            counts = [f'{n} {what}' for n, what in ((failed, 'failed'),
                                                     (unfinished, 'unfinished')) if n]
            row['status'] = ('ok' if len(finished) == len(runs) else
                             ', '.join([f'{len(finished)} of {len(runs)} seeds', *counts]))
        rows.append(row)
    return rows


def table_note(rows: list[dict[str, Any]], seeds: list[int] | None = None) -> str:
    options = sorted({' '.join(r.get('cfg_options') or []) for r in rows} - {''})
    options = [o for o in options if not o.startswith('randomness.seed=')]
    total = sum(r.get('seconds') or 0 for r in rows)
    seed_text = (f'seeds {", ".join(map(str, seeds))}, mean ± std over the seeds'
                 if seeds else 'seed 123')
    note = (f'CATR tiny on SynthAVS S4 (configs/catr/ablations/, {seed_text}); values x100; '
            'best epoch and mIoU on the val split, test scores of that checkpoint. '
            f'Written by tools/analysis_tools/run_ablations.py on {time.strftime("%Y-%m-%d")}'
            f', {format_duration(total)} of training in all.')
    if options:
        note += (' **Reduced run** (not comparable with the configs as they are): '
                 + '; '.join(f'`--cfg-options {o}`' for o in options) + '.')
    return note


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--configs', nargs='+', help='only these variants (e.g. full no_gate)')
    parser.add_argument('--work-dir', default=osp.join(REPO_ROOT, 'work_dirs', 'ablations'),
                        help='one sub-folder per config')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to every tools/train.py run')
    parser.add_argument('--no-test', action='store_true',
                        help='do not score the best checkpoint on the test split')
    parser.add_argument('--seeds', nargs='+', type=int,
                        help='train each variant once per seed (randomness.seed), in '
                        'WORK_DIR/<config>/seed<s>; the table gives mean ± std')
    parser.add_argument('--collect-only', action='store_true',
                        help='train nothing; rebuild the table from the work dirs')
    parser.add_argument('--readme', default=README, help='file holding the table markers')
    parser.add_argument('--no-readme', action='store_true', help='print the table only')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configs = discover_configs(names=args.configs)
    work_root = osp.abspath(args.work_dir)
    failed = 0
    if not args.collect_only:
        for i, config in enumerate(configs, 1):
            dirs = run_dirs(work_root, config, args.seeds)
            for seed, work_dir in zip(args.seeds or [None], dirs):
                options = args.cfg_options + ([f'randomness.seed={seed}'] if args.seeds else [])
                print(f'[{i}/{len(configs)}] training {osp.relpath(work_dir, work_root)} ...',
                      flush=True)
                info = run_variant(config, work_dir, options, test=not args.no_test)
                state = 'ok' if info['returncode'] == 0 else f'FAILED (rc={info["returncode"]})'
                print(f'    {state} in {format_duration(info["seconds"])}', flush=True)
                failed += info['returncode'] != 0
    rows = collect(configs, work_root, args.seeds)
    os.makedirs(work_root, exist_ok=True)
    with open(osp.join(work_root, 'results.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    table = format_table(rows, table_note(rows, args.seeds))
    print(table)
    if not args.no_readme:
        update_readme(args.readme, table)
        print(f'table written to {args.readme}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
