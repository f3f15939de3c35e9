"""The ablation table: summaries of training runs and the README section they fill."""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
import statistics
from typing import Any

MARK_START = '<!-- ablations:start -->'
MARK_END = '<!-- ablations:end -->'


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


def _pct(value: float | list[float] | None) -> str:
    """x100; a list (one value per seed) as ``mean ± std`` (sample std)."""
    if isinstance(value, list):
        if len(value) < 2:
            return _pct(value[0] if value else None)
        return f'{100 * statistics.mean(value):.1f} ± {100 * statistics.stdev(value):.1f}'
    return '-' if value is None else f'{100 * value:.1f}'


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return '-'
    minutes = seconds / 60
    return f'{minutes:.1f} min' if minutes < 90 else f'{minutes / 60:.1f} h'


def _epochs(value: int | list[int] | None) -> str:
    if isinstance(value, list):
        return '/'.join(map(str, value)) or '-'
    return '-' if value is None else str(value)


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
            f'| {_epochs(row.get("best_epoch"))} '
            f'| {_pct(row.get("test"))} | {_pct(row.get("test_f"))} '
            f'| {format_duration(row.get("seconds"))} |')
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


def latest_run_dir(work_dir: str) -> str | None:
    """The newest ``<timestamp>`` folder of a work dir that holds ``vis_data/scalars.json``."""
    runs = [d for d in glob.glob(osp.join(work_dir, '*'))
            if osp.isfile(osp.join(d, 'vis_data', 'scalars.json'))]
    return max(runs, key=lambda d: osp.basename(d)) if runs else None
