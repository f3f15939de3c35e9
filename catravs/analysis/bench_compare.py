"""Reference path against catravs' path, each measured in its own fresh process.

:func:`run_worker` starts ``python <tool> ... --worker-out FILE`` and watches the
child's peak RSS (``VmHWM`` of ``/proc/<pid>/status``); past ``mem_limit_gb`` the
child is killed and the run is reported as "over N GB" with the step it was in.
:func:`compare_paths` runs named commands in turn (A/B/C/A/B/C ...);
:func:`compare` alternates reference and ours (``rounds`` times: A/B, A/B/A/B,
...), pools the timed steps of each path and returns the figures of
``speedup <S>x memory <M>x`` (S = reference step time / ours, M = our peak /
reference peak).
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

GiB = 1024 ** 3

__all__ = ['run_worker', 'compare', 'compare_paths', 'summary_line', 'pool_runs']


def _peak_rss(pid: int) -> int:
    """High-water RSS of a live process in bytes (0 when it cannot be read)."""
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ''


def run_worker(tool: str, argv: Sequence[str], mem_limit_gb: float | None = None,
               poll_s: float = 0.05, pythonpath: Sequence[str] = ()) -> dict[str, Any]:
    """Run ``tool argv --worker-out F --status-file S`` in a fresh interpreter.

    ``pythonpath`` folders go first on the child's ``PYTHONPATH`` (code that is imported
    by its top-level names, such as the released CATR folder; this process's own
    ``sys.path`` is left alone).

    Returns the worker's result dict, or ``dict(over_limit=True, peak_bytes=...,
    status=<what it was doing>)`` when its peak RSS passed ``mem_limit_gb``.

    Raises:
        RuntimeError: the worker failed; the message holds its last output lines.
    """
    with tempfile.TemporaryDirectory(prefix='catravs_bench_') as tmp:
        out, status = os.path.join(tmp, 'result.json'), os.path.join(tmp, 'status')
        log = os.path.join(tmp, 'log')
        cmd = [sys.executable, tool, *argv, '--worker-out', out, '--status-file', status]
        limit = None if mem_limit_gb is None else int(mem_limit_gb * GiB)
        env = dict(os.environ)
        if pythonpath:
            env['PYTHONPATH'] = os.pathsep.join(
                [*pythonpath, *filter(None, [os.environ.get('PYTHONPATH')])])
        with open(log, 'w') as log_file:
            proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT,
                                    start_new_session=True, env=env)
            peak = 0
            try:
                while proc.poll() is None:
                    peak = max(peak, _peak_rss(proc.pid))
                    if limit is not None and peak > limit:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
                        return dict(over_limit=True, limit_gb=mem_limit_gb, peak_bytes=peak,
                                    status=_read(status) or 'start-up')
                    time.sleep(poll_s)
            finally:  # interrupted (Ctrl-C): take the worker down too
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        if proc.returncode != 0 or not os.path.isfile(out):
            tail = '\n'.join(_read(log).splitlines()[-25:])
            raise RuntimeError(f'benchmark worker failed (exit {proc.returncode}): '
                               f'{" ".join(cmd)}\n{tail}')
        with open(out) as f:
            return json.load(f)


def pool_runs(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One row from several runs of a path: median of all timed steps, max peak."""
    if any(r.get('over_limit') for r in runs):
        bad = next(r for r in runs if r.get('over_limit'))
        return dict(bad, runs=len(runs))
    times = [t for r in runs for t in r['times']]
    pooled = dict(runs[0])
    median = statistics.median(times)
    pooled.update(times=times, step_s=median, runs=len(runs),
                  clips_per_s=runs[0]['clips'] / median,
                  frames_per_s=runs[0]['clips'] * runs[0]['shape'][0] / median,
                  peak_bytes=max(r['peak_bytes'] for r in runs),
                  run_medians=[r['step_s'] for r in runs])
    return pooled


def compare_paths(runs_of: dict[str, tuple], rounds: int = 1,
                  mem_limit_gb: float | None = None, log=print) -> dict[str, dict[str, Any]]:
    """Run each named ``(tool, argv)`` or ``(tool, argv, pythonpath)`` in a fresh process
    (:func:`run_worker`), in turn, ``rounds`` times (A/B/C/A/B/C...);
    ``{name: pooled result}`` (:func:`pool_runs`)."""
    runs: dict[str, list] = {name: [] for name in runs_of}
    for i in range(rounds):
        for name, (tool, argv, *pythonpath) in runs_of.items():
            if runs[name] and runs[name][-1].get('over_limit'):
                continue  # it will not fit the next time either
            log(f'[round {i + 1}/{rounds}] {name}: fresh process ...')
            result = run_worker(tool, argv, mem_limit_gb,
                                pythonpath=pythonpath[0] if pythonpath else ())
            result.setdefault('path', name)  # a run stopped at the limit reports no path
            runs[name].append(result)
            log(f'  {name}: ' + (f'over {mem_limit_gb:g} GB ({result["status"]})'
                                 if result.get('over_limit') else
                                 f'{result["step_s"]:.3f} s/step, '
                                 f'peak {result["peak_bytes"] / GiB:.2f} GiB'))
    return {name: pool_runs(found) for name, found in runs.items()}


def compare(tool: str, argv: Sequence[str], rounds: int = 1,
            mem_limit_gb: float | None = None,
            log=print) -> tuple[dict[str, Any], dict[str, Any]]:
    """Alternate ``--path reference`` and ``--path ours`` runs; ``(reference, ours)`` pooled."""
    pooled = compare_paths({path: (tool, [*argv, '--path', path])
                            for path in ('reference', 'ours')}, rounds, mem_limit_gb, log)
    return pooled['reference'], pooled['ours']


def summary_line(reference: dict[str, Any], ours: dict[str, Any]) -> str:
    """``speedup <S>x memory <M>x``; bounds (``>``/``<``) when a run was stopped."""
    if ours.get('over_limit'):
        return 'speedup n/a memory n/a (catravs path over the memory limit)'
    if reference.get('over_limit'):
        bound = ours['peak_bytes'] / (reference['limit_gb'] * GiB)
        return f'speedup n/a memory <{bound:.2f}x'
    speedup = reference['step_s'] / ours['step_s']
    memory = ours['peak_bytes'] / reference['peak_bytes']
    return f'speedup {speedup:.2f}x memory {memory:.2f}x'
