"""Training / inference speed and peak memory of a config, data-pipeline and metric cost.

``python tools/analysis_tools/benchmark.py CONFIG [--task train|test|data|eval]
[--device cpu|cuda] [--amp [--amp-dtype float16|bfloat16]] [--compile [forward|regional]]
[--no-cpu-lean] [--huge-pages]
[--channels-last] [--with-cp] [--optim-impl for-loop|foreach|fused] [--clips B]
[--shape T H W] [--steps N] [--warmup N]
[--compare-reference [--reference-fp32] [--rounds R] [--released-root DIR]]
[--peak-tflops P] [--mem-limit-gb G] [--cfg-options ...]``

train / test: random weights, a synthetic batch, the median over N steps after the
warm-up (see :mod:`catravs.analysis.benchmarking`); the first step's time is printed too
(with ``--compile``: the compilation), and of one more, untimed step its FLOPs (forward +
backward), the achieved TFLOP/s, on CUDA the fraction of the card's dense peak for the
dtype used (``--peak-tflops`` gives the peak elsewhere) and the host syncs.
``--compare-reference`` measures the released code's way of computing
(every part with an ``impl`` at ``'reference'``: attention layers, TPAVI blocks; no
checkpointing, contiguous; with ``--amp`` under the same autocast without a
``GradScaler``, as the released ``train.py``; ``--reference-fp32``: in float32
whatever ``--amp`` says) and catravs' path with the given flags, each in a fresh
process, alternating; the table names each path's precision, and the output ends with
``speedup <S>x memory <M>x``; ``--released-root`` adds the released code's own step
(``released_step.py``, for the config's method: CATR or TPAVI) and its line. data: the
config's train dataloader (workers, batch size) and the per-transform cost. eval: seconds
per 1,000 frames of the metric. Figures and commands: docs/benchmark.md.
"""
import argparse
import json
import os
import os.path as osp
import sys


def _measures_catravs_path_on_huge_pages(argv) -> bool:
    """``--huge-pages`` in a process that measures catravs' path: not the reference path,
    and not ``--compare-reference``'s parent, which measures nothing itself and so starts
    the released code's worker in the caller's environment."""
    reference = any(a == '--path=reference' or (a == '--path' and b == 'reference')
                    for a, b in zip(argv, [*argv[1:], '']))
    return '--huge-pages' in argv and not reference and '--compare-reference' not in argv


# --huge-pages: catravs' path with host tensors of 2 MiB and more on transparent huge pages
# (PyTorch's THP_MEM_ALLOC_ENABLE, read at torch's first allocation, hence here). The
# released code and the reference path run in the caller's environment, as the released
# code's users run it; the flags column says "huge pages" where a path ran with them.
if _measures_catravs_path_on_huge_pages(sys.argv[1:]):
    os.environ['THP_MEM_ALLOC_ENABLE'] = '1'

from mmengine.config import Config, DictAction  # noqa: E402

GiB = 1024 ** 3


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('--task', choices=['train', 'test', 'data', 'eval'], default='train')
    p.add_argument('--device', default=None, help='cpu or cuda (default: cuda if available)')
    p.add_argument('--amp', action='store_true', help='bf16 (CPU) / fp16 (CUDA) autocast')
    p.add_argument('--amp-dtype', choices=['float16', 'bfloat16'], default=None,
                   help='autocast dtype (default: float16 on CUDA, bfloat16 on the CPU)')
    p.add_argument('--compile', nargs='?', const='forward', default=None,
                   choices=['forward', 'regional'],
                   help="torch.compile the model's forward as one graph (fullgraph; "
                        '--compile or --compile forward) or each repeated block '
                        '(--compile regional: PVT-v2 blocks, fusion and decoder layers)')
    p.add_argument('--huge-pages', action='store_true',
                   help="catravs' path with THP_MEM_ALLOC_ENABLE=1: host tensors of 2 MiB and "
                        'more on transparent huge pages (the released code and the reference '
                        "path keep the caller's environment)")
    p.add_argument('--no-cpu-lean', action='store_true',
                   help='switch the CPU lean path off (catravs.models.utils.cpu_lean)')
    p.add_argument('--channels-last', action='store_true',
                   help='the model in torch.channels_last (the ResNet-50 configs build it '
                        'so: model.channels_last=True)')
    p.add_argument('--optim-impl', choices=['for-loop', 'foreach', 'fused'], default=None,
                   help="the optimizer's implementation (optim_wrapper.optimizer.foreach / "
                        ".fused = True; for-loop: foreach=False); default: the config's, "
                        "else PyTorch's choice")
    p.add_argument('--with-cp', action='store_true',
                   help='activation checkpointing in every model part that takes with_cp')
    p.add_argument('--clips', type=int, default=None, help='B (default: 2 on CUDA, 1 on CPU)')
    p.add_argument('--shape', type=int, nargs=3, metavar=('T', 'H', 'W'), default=None,
                   help="default: the config's num_frames and input_size")
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--compare-reference', action='store_true')
    p.add_argument('--reference-fp32', action='store_true',
                   help='with --compare-reference and --amp: the reference path in float32 '
                        '(without: under the same autocast as ours)')
    p.add_argument('--peak-tflops', type=float, default=None,
                   help="the device's dense peak TFLOP/s for the dtype used (default: the "
                        'known CUDA cards of catravs.analysis.device_peaks)')
    p.add_argument('--rounds', type=int, default=1, help='reference/ours pairs (A/B/A/B: 2)')
    p.add_argument('--released-root', default=None,
                   help="with --compare-reference: also time the released code's own step "
                        "first in each round (CATR: its CATR/ folder; TPAVI: avs_scripts/avs_s4/; "
                        'tools/analysis_tools/released_step.py)')
    p.add_argument('--mem-limit-gb', type=float, default=None,
                   help='stop a run whose peak RSS passes this (with --compare-reference)')
    p.add_argument('--path', choices=['ours', 'reference'], default='ours')
    p.add_argument('--data-root', default=None, help='data: dataset folder to read')
    p.add_argument('--data-clips', type=int, default=16, help='data: clips to generate')
    p.add_argument('--workers', type=int, default=None, help="data: override num_workers")
    p.add_argument('--log-mel-cache', default=None,
                   help='data: also time LoadClipAudio(source=wav) with the cache there')
    p.add_argument('--eval-frames', type=int, default=200)
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    p.add_argument('--json-out', default=None, help='write the results as JSON')
    p.add_argument('--worker-out', default=None, help=argparse.SUPPRESS)
    p.add_argument('--status-file', default=None, help=argparse.SUPPRESS)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = p.parse_args(argv)
    args.raw_cfg_options = raw_cfg_options(list(sys.argv[1:] if argv is None else argv))
    return args


def default_shape(cfg: Config) -> tuple[int, int, int]:
    t = int(cfg.get('num_frames', None) or 5)
    size = int(cfg.get('input_size', None) or cfg.get('image_size', None) or 448)
    return t, size, size


def worker_argv(args: argparse.Namespace, device: str, clips: int, shape,
                amp: bool = True) -> list[str]:
    """The worker's arguments; ``amp=False`` drops ``--amp`` (the float32 reference)."""
    argv = [args.config, '--task', args.task, '--device', device, '--clips', str(clips),
            '--shape', *map(str, shape), '--steps', str(args.steps), '--warmup',
            str(args.warmup)] + (['--threads', str(args.threads)] if args.threads else [])
    if args.compile:
        argv += ['--compile', args.compile]
    argv += [f for f, on in (('--amp', args.amp and amp),
                             ('--channels-last', args.channels_last),
                             ('--with-cp', args.with_cp), ('--no-cpu-lean', args.no_cpu_lean),
                             ('--huge-pages', args.huge_pages))
             if on]
    if args.optim_impl:
        argv += ['--optim-impl', args.optim_impl]
    if args.amp_dtype and args.amp and amp:
        argv += ['--amp-dtype', args.amp_dtype]
    if args.raw_cfg_options:
        argv += ['--cfg-options', *args.raw_cfg_options]
    return argv


#: the model types whose released training step ``released_step.py`` times
RELEASED_METHOD_OF_MODEL = {'CATR': 'catr', 'TPAVI': 'tpavi'}


def released_argv(args: argparse.Namespace, model_type: str, device: str, shape) -> list[str]:
    """``released_step.py``'s arguments for the same measurement (one clip)."""
    if args.task != 'train' or args.amp or args.clips not in (None, 1):
        raise SystemExit('--released-root times the released training step in float32 with '
                         'one clip: use it with --task train, --clips 1 and no --amp')
    if model_type not in RELEASED_METHOD_OF_MODEL:
        raise SystemExit(f'--released-root: no released training step for model type '
                         f'{model_type!r} (known: {sorted(RELEASED_METHOD_OF_MODEL)})')
    return ['--method', RELEASED_METHOD_OF_MODEL[model_type],
            '--released-root', args.released_root, '--device', device,
            '--shape', *map(str, shape), '--steps', str(args.steps),
            '--warmup', str(args.warmup)] + (['--threads', str(args.threads)]
                                              if args.threads else [])


def raw_cfg_options(argv: list[str]) -> list[str]:
    """The ``--cfg-options`` items as typed (passed on to the worker processes)."""
    if '--cfg-options' not in argv:
        return []
    rest = argv[argv.index('--cfg-options') + 1:]
    end = next((i for i, a in enumerate(rest) if a.startswith('--')), len(rest))
    return rest[:end]


MODEL_HEADER = ['path', 'clips x T x H x W', 'precision', '{step} (median)', 'first step s',
                'clips/s', 'peak memory', 'TFLOP / step', 'TFLOP/s', 'of peak', 'host syncs',
                'flags']


def model_rows(results, peak_tflops: float | None = None) -> list[list]:
    from catravs.analysis.benchmarking import utilisation
    rows = []
    for r in results:
        if r.get('over_limit'):
            rows.append([r['path'], '-', '-', '-', '-', '-', f'over {r["limit_gb"]:g} GB',
                         '-', '-', '-', '-', r['status']])
            continue
        t, h, w = r['shape']
        flags = [f for f in ('compile', 'channels_last', 'with_cp') if r.get(f)]
        if r.get('optim_impl'):
            flags.append(f'optimizer {r["optim_impl"]}')
        if r.get('no_cpu_lean'):
            flags.append('no cpu lean')
        if (r.get('machine') or {}).get('thp_mem_alloc') == 'on':
            flags.append('huge pages')
        use = utilisation(r, peak_tflops)
        flops = r.get('flops')
        rows.append([r['path'], f'{r["clips"]}x{t}x{h}x{w}', r.get('precision', '?'),
                     r['step_s'], r.get('first_step_s', float('nan')), r['clips_per_s'],
                     f'{r["peak_bytes"] / GiB:.2f} GiB',
                     '-' if flops is None else flops / 1e12,
                     '-' if use['tflops_per_s'] is None else use['tflops_per_s'],
                     '-' if use['mfu'] is None else f'{100 * use["mfu"]:.1f}% of '
                     f'{use["peak_tflops"]:g} ({use["peak_of"]})',
                     (r.get('host_syncs') or {}).get('total', '-'),
                     ', '.join(dict.fromkeys(flags + r.get('notes', []))) or '-'])
    return rows


def sync_lines(results) -> list[str]:
    """Where each path's host syncs of one step come from."""
    return [f'{r["path"]} host syncs per step: ' + ', '.join(
        f'{op} {n}' for op, n in sorted(r['host_syncs']['where'].items()))
        for r in results if r.get('host_syncs') and r['host_syncs']['total']]


def main(argv=None) -> str:
    args = parse_args(argv)
    import torch

    from catravs.analysis import bench_compare, bench_data, benchmarking
    from catravs.apis import load_config
    cfg = load_config(args.config, args.cfg_options)
    if args.optim_impl:
        benchmarking.set_optimizer_impl(cfg, args.optim_impl)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.no_cpu_lean:
        from catravs.models.utils import cpu_lean
        cpu_lean.set_enabled(False)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    clips = args.clips or (2 if device.startswith('cuda') else 1)
    shape = tuple(args.shape) if args.shape else default_shape(cfg)
    status = (lambda text: open(args.status_file, 'w').write(text)) if args.status_file \
        else None
    machine = benchmarking.machine_info(device)
    # huge pages are per path (the flags column), not of this process
    lines = [f'{k}: {v}' for k, v in machine.items() if k != 'thp_mem_alloc'] + \
        [f'config: {args.config}']
    summary = None
    if args.task == 'data':
        loader_cfg = bench_data.data_cfg(cfg, args.data_root, args.data_clips, args.workers)
        stages = bench_data.stage_breakdown(loader_cfg, cache_dir=args.log_mel_cache)
        result = bench_data.measure_loader(loader_cfg, args.steps, args.warmup, status)
        result['stages_ms'] = stages
        table = benchmarking.format_table(['transform', 'ms / clip (1 process)'], stages)
        table += '\n' + benchmarking.format_table(
            ['dataloader', 'workers', 'batch', 'clips/s'],
            [['train', result['workers'], result['batch_size'], result['clips_per_s']]])
    elif args.task == 'eval':
        result = bench_data.measure_eval(cfg, args.eval_frames)
        table = benchmarking.format_table(
            ['metric', 'frames', 'size', 'classes', 's', 's / 1000 frames'],
            [[result['metric'], result['frames'], result['size'], result['classes'],
              result['seconds'], result['s_per_1000_frames']]])
    elif args.compare_reference:
        tool = osp.abspath(__file__)
        runs_of = {path: (tool, [*worker_argv(args, device, clips, shape,
                                              amp=path == 'ours' or not args.reference_fp32),
                                 '--path', path]) for path in ('reference', 'ours')}
        if args.released_root:
            runs_of = dict(released=(osp.join(osp.dirname(tool), 'released_step.py'),
                                     released_argv(args, cfg.model.type, device, shape),
                                     [osp.abspath(args.released_root)]), **runs_of)
        result = bench_compare.compare_paths(runs_of, args.rounds, args.mem_limit_gb)
        summary = bench_compare.summary_line(result['reference'], result['ours'])
        if args.released_root:
            summary += '\nreleased code against ours: ' + bench_compare.summary_line(
                result['released'], result['ours'])
    else:
        result = benchmarking.measure_model(
            cfg, args.task, device, clips, shape, args.steps, args.warmup, args.path,
            args.amp, args.compile, args.channels_last, args.with_cp, status, args.amp_dtype)
        result['no_cpu_lean'] = args.no_cpu_lean and args.path == 'ours'
        result['optim_impl'] = args.optim_impl
    if args.worker_out:
        with open(args.worker_out, 'w') as f:
            json.dump(result, f)
        return ''
    if args.task in ('train', 'test'):
        runs = [result[k] for k in ('released', 'reference', 'ours') if k in result] \
            if summary else [result]
        step = 'train step s' if args.task == 'train' else 'inference s'
        table = benchmarking.format_table(
            [h.format(step=step) for h in MODEL_HEADER], model_rows(runs, args.peak_tflops))
        table += ''.join('\n' + line for line in sync_lines(runs))
        table += ''.join(f'\n{r["path"]} optimizer step (clipping + update, median): '
                         f'{r["optimizer_step_s"]:.3g} s' for r in runs
                         if r.get('optimizer_step_s') is not None)
        if args.task == 'test':
            table += '\n' + '\n'.join(f'{r["path"]}: {r["frames_per_s"]:.3g} frames/s'
                                      for r in runs if not r.get('over_limit'))
    text = '\n'.join(lines + [table] + ([summary] if summary else []))
    print(text)
    if args.json_out:
        os.makedirs(osp.dirname(osp.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, 'w') as f:
            json.dump(dict(machine=machine, args=vars(args), result=result, text=text), f,
                      indent=1)
    return text


if __name__ == '__main__':
    main()
