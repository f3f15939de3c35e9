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

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ABLATION_DIR = osp.join(REPO_ROOT, 'configs', 'catr', 'ablations')
README = osp.join(REPO_ROOT, 'configs', 'catr', 'README.md')
MARK_START = '<!-- ablations:start -->'
MARK_END = '<!-- ablations:end -->'
PREFIX = 'catr_tiny_'
#: table order; other configs of the folder follow alphabetically
ORDER = ('full', 'spatial_only', 'temporal_only', 'no_gate', 'visual_only',
         'cross_attention', 'audio_queries', 'released')


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


def latest_run_dir(work_dir: str) -> str | None:
    """The newest ``<timestamp>`` folder of a work dir that holds ``vis_data/scalars.json``."""
    runs = [d for d in glob.glob(osp.join(work_dir, '*'))
            if osp.isfile(osp.join(d, 'vis_data', 'scalars.json'))]
    return max(runs, key=lambda d: osp.basename(d)) if runs else None


def read_json_lines(path: str) -> list[dict]:
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def summarise_run(work_dir: str, metric: str = 'mIoU') -> dict[str, Any]:
    """Best validation ``metric`` of the newest run in ``work_dir`` and its test scores.

    Returns ``dict(status, best_val, best_val_f, best_epoch, num_val, test, test_f,
    run_dir)``; values are None where the run did not get that far.
    """
    out: dict[str, Any] = dict(status='no run', best_val=None, best_val_f=None,
                               best_epoch=None, num_val=0, test=None, test_f=None,
                               run_dir=None)
    run = latest_run_dir(work_dir)
    if run is None:
        return out
    out['run_dir'] = run
    vals = [r for r in read_json_lines(osp.join(run, 'vis_data', 'scalars.json'))
            if metric in r]
    out['num_val'] = len(vals)
    if vals:
        best = max(vals, key=lambda r: r[metric])
        out.update(status='ok', best_val=best[metric], best_val_f=best.get('F-score'),
                   best_epoch=best.get('step'))
    else:
        out['status'] = 'no validation'
    test_log = osp.join(run, f'{osp.basename(run)}.json')
    if osp.isfile(test_log):
        try:
            with open(test_log) as f:
                test = json.load(f)
        except json.JSONDecodeError:
            test = {}
        if metric in test:
            out.update(test=test[metric], test_f=test.get('F-score'))
    return out


def _pct(value: float | None) -> str:
    return '-' if value is None else f'{100 * value:.1f}'


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return '-'
    minutes = seconds / 60
    return f'{minutes:.1f} min' if minutes < 90 else f'{minutes / 60:.1f} h'


def format_table(rows: list[dict[str, Any]], note: str = '') -> str:
    """Markdown table of the variants (values x100)."""
    lines = ['| variant | what changes | best val mIoU | val F (same epoch) | best epoch '
             '| test mIoU | test F | train time |',
             '|---|---|--:|--:|--:|--:|--:|--:|']
    for row in rows:
        status = '' if row.get('status') in ('ok', None) else f' ({row["status"]})'
        lines.append(
            f'| `{row["variant"]}`{status} | {row.get("description", "")} '
            f'| {_pct(row.get("best_val"))} | {_pct(row.get("best_val_f"))} '
            f'| {row.get("best_epoch") if row.get("best_epoch") is not None else "-"} '
            f'| {_pct(row.get("test"))} | {_pct(row.get("test_f"))} '
            f'| {_duration(row.get("seconds"))} |')
    if note:
        lines += ['', note]
    return '\n'.join(lines)


def update_readme(path: str, table: str) -> None:
    """Replace what lies between the ablation markers of ``path`` with ``table``."""
    with open(path) as f:
        text = f.read()
    start, end = text.find(MARK_START), text.find(MARK_END)
    if start < 0 or end < start:
        raise ValueError(f'{path} has no "{MARK_START}" ... "{MARK_END}" section')
    new = text[:start + len(MARK_START)] + '\n' + table.strip() + '\n' + text[end:]
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        f.write(new)
    os.replace(tmp, path)


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


def collect(configs: list[str], work_root: str) -> list[dict[str, Any]]:
    rows = []
    for config in configs:
        name = osp.splitext(osp.basename(config))[0]
        work_dir = osp.join(work_root, name)
        row = dict(variant=variant_name(config), config=osp.relpath(config, REPO_ROOT),
                   description=describe(config), **summarise_run(work_dir))
        info_path = osp.join(work_dir, 'run_info.json')
        if osp.isfile(info_path):
            with open(info_path) as f:
                info = json.load(f)
            row.update(seconds=info.get('seconds'), cfg_options=info.get('cfg_options', []))
            if info.get('returncode'):
                row['status'] = f'failed, rc={info["returncode"]}, see {work_dir}/run.log'
        rows.append(row)
    return rows


def table_note(rows: list[dict[str, Any]]) -> str:
    options = sorted({' '.join(r.get('cfg_options') or []) for r in rows} - {''})
    total = sum(r.get('seconds') or 0 for r in rows)
    note = ('CATR tiny on SynthAVS S4 (configs/catr/ablations/, seed 123); values x100; '
            'best epoch and mIoU on the val split, test scores of that checkpoint. '
            f'Written by tools/analysis_tools/run_ablations.py on {time.strftime("%Y-%m-%d")}'
            f', {_duration(total)} of training in all.')
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
            name = osp.splitext(osp.basename(config))[0]
            print(f'[{i}/{len(configs)}] training {name} ...', flush=True)
            info = run_variant(config, osp.join(work_root, name), args.cfg_options,
                               test=not args.no_test)
            state = 'ok' if info['returncode'] == 0 else f'FAILED (rc={info["returncode"]})'
            print(f'    {state} in {_duration(info["seconds"])}', flush=True)
            failed += info['returncode'] != 0
    rows = collect(configs, work_root)
    os.makedirs(work_root, exist_ok=True)
    with open(osp.join(work_root, 'results.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    table = format_table(rows, table_note(rows))
    print(table)
    if not args.no_readme:
        update_readme(args.readme, table)
        print(f'table written to {args.readme}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
