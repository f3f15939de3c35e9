"""Speed and memory of a training step and of inference (``analysis_tools/benchmark.py``).

One measurement runs in the current process: build ``cfg.model`` with random
weights (no pretrained file is read), make a synthetic batch of B clips in the
form the dataloader gives (``uint8`` frames ``[T, 3, H, W]``, audio as the
audio encoder expects, data samples with ground-truth masks), and time, after
``warmup`` steps, ``steps`` calls of ``model.train_step`` (data preprocessor,
forward, loss, backward, gradient clipping and optimizer step of the config's
``optim_wrapper``) or of ``model.test_step``. Peak memory: CUDA max allocated,
or the process peak RSS (``ru_maxrss``) on the CPU.

After the timed steps, one more step (not timed, its memory not in the peak) is counted:
its FLOPs (``FlopCounterMode``: forward and backward, matmuls, convolutions and attention,
a multiply-add = 2 FLOPs; with ``compile``, this step runs eagerly) and its host syncs
(:class:`catravs.analysis.host_syncs.HostSyncCounter`).

AMP: catravs' path trains with the config's way (:class:`AnyDeviceAmpOptimWrapper`:
autocast, and a ``GradScaler`` with float16 on CUDA); the reference path under autocast
without a ``GradScaler``, as the released CATR ``train.py`` does
(:class:`AutocastOptimWrapper`).
"""
from __future__ import annotations

import inspect
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any, Literal

import torch
import torch.nn as nn

from catravs.registry import DATASETS, SCOPE
from catravs.structures import IGNORE_INDEX
from catravs.utils.host_memory import large_tensors_on_huge_pages
from catravs.utils.segmentation_task import num_output_classes, segmentation_task
from catravs.utils.vggish_params import VGGISH_EXAMPLE_SHAPE

#: how a model computes: catravs' path ('ours') or the released code's ('reference')
ComputePath = Literal['ours', 'reference']
GiB = 1024 ** 3

__all__ = ['machine_info', 'peak_memory_bytes', 'synthetic_batch', 'prepare_model_cfg',
           'build_model', 'time_steps', 'measure_model', 'set_optimizer_impl', 'precision',
           'count_step',
           'utilisation', 'format_table', 'ComputePath']


def machine_info(device: str = 'cpu') -> dict[str, str]:
    """CPU model and cores, GPU name (CUDA), torch version, threads, and whether large
    host tensors go on transparent huge pages (``THP_MEM_ALLOC_ENABLE``, as the process
    runs: :func:`~catravs.utils.host_memory.large_tensors_on_huge_pages`)."""
    cpu = platform.processor() or 'unknown CPU'
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    info = dict(cpu=f'{cpu}, {os.cpu_count()} cores', torch=torch.__version__,
                threads=str(torch.get_num_threads()),
                thp_mem_alloc={True: 'on', False: 'off', None: 'unknown'}[
                    large_tensors_on_huge_pages()])
    if device.startswith('cuda') and torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name(torch.device(device))
    return info


def peak_memory_bytes(device: str) -> int:
    """CUDA: max allocated since the last reset; CPU: the process peak RSS."""
    if device.startswith('cuda'):
        return int(torch.cuda.max_memory_allocated(torch.device(device)))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux: KiB


def _audio_shape(model: nn.Module) -> tuple[int, ...]:
    """Per-frame audio input: ``(D,)`` for precomputed embeddings, else a log-mel example."""
    from catravs.models.audio_encoders import PrecomputedAudioEmbedding
    encoder = getattr(model, 'audio_encoder', None)
    if isinstance(encoder, PrecomputedAudioEmbedding):
        return (int(encoder.in_channels),)
    return VGGISH_EXAMPLE_SHAPE


def synthetic_batch(model: nn.Module, clips: int, frames: int, height: int, width: int,
                    task: str = 'binary', num_classes: int = 1,
                    annotated: Literal['first', 'all'] = 'all', seed: int = 0) -> dict:
    """A batch as ``pseudo_collate`` gives it: ``dict(inputs=dict(frames=[uint8 Tensor[T, 3,
    H, W]] * B, audio=[Tensor[T, ...]] * B), data_samples=[AVSDataSample] * B)``.

    Ground truth (labels at H x W): one random rectangle per frame, of class 1
    (binary) or of a random class in ``[1, num_classes)`` (semantic) on class 0.
    ``annotated='first'``: only frame 0 carries a label (S4 training clips).
    """
    from catravs.structures import AVSDataSample
    gen = torch.Generator().manual_seed(seed)
    rand = lambda hi, *shape: torch.randint(0, hi, shape, generator=gen)  # noqa: E731
    samples, video, audio = [], [], []
    for i in range(clips):
        video.append(rand(256, frames, 3, height, width).to(torch.uint8))
        audio.append(torch.randn(frames, *_audio_shape(model), generator=gen))
        gt = torch.zeros(frames, height, width, dtype=torch.long)
        for t in range(frames):
            y0, x0 = int(rand(height // 2)), int(rand(width // 2))
            label = 1 if task == 'binary' else int(1 + rand(max(num_classes - 1, 1)))
            gt[t, y0:y0 + height // 3 + 1, x0:x0 + width // 3 + 1] = label
        flags = [t == 0 or annotated == 'all' for t in range(frames)]
        gt[~torch.tensor(flags)] = IGNORE_INDEX
        sample = AVSDataSample(metainfo=dict(
            clip_id=f'bench{i}', category='', sample_idx=i, num_frames=frames,
            valid_frames=[True] * frames, annotated_frames=flags,
            img_shape=(height, width), ori_shape=(height, width)))
        sample.gt_masks = gt
        samples.append(sample)
    return dict(inputs=dict(frames=video, audio=audio), data_samples=samples)


def _accepts(registered: str, arg: str) -> bool:
    from catravs.registry import MODELS
    cls = MODELS.get(registered) if isinstance(registered, str) else None
    return cls is not None and arg in inspect.signature(cls.__init__).parameters


def prepare_model_cfg(model_cfg: dict, path: ComputePath = 'ours', with_cp: bool = False) -> dict:
    """``model_cfg`` (a dict, changed in place) for the benchmark path.

    ``'reference'``: the released code's way of computing: ``attn_impl='reference'``
    where CATR takes it, every ``with_cp``, ``recompute_mlp`` and ``channels_last``
    switched off. ``'ours'`` with ``with_cp``: activation checkpointing on in every part
    that takes it.
    """
    from catravs.analysis.complexity import strip_pretrained
    model_cfg.update(strip_pretrained(model_cfg))
    if path == 'reference' and _accepts(model_cfg.get('type', ''), 'attn_impl'):
        model_cfg['attn_impl'] = 'reference'
    if path == 'reference' and 'channels_last' in model_cfg:
        model_cfg['channels_last'] = False
    for part in model_cfg.values():
        if not isinstance(part, dict) or 'type' not in part:
            continue
        if path == 'reference':
            if 'with_cp' in part:
                part['with_cp'] = False
            if _accepts(part['type'], 'recompute_mlp'):
                part['recompute_mlp'] = False
        elif with_cp and _accepts(part['type'], 'with_cp'):
            part['with_cp'] = True
    return model_cfg


def build_model(model_cfg: dict, path: ComputePath, device: str, channels_last: bool = False,
                compile_parts: bool | str = False) -> tuple[nn.Module, list[str]]:
    """Build the model (random weights) for ``path``; returns it and notes for the table.
    ``'reference'``: every part that computes two ways (a string ``impl`` attribute: the
    attention layers, TPAVI's blocks) computes as the released code does
    (:func:`catravs.models.utils.set_reference_impl`).
    ``compile_parts``: ``torch.compile`` the forward, backbone to head, as one graph
    (True or ``'forward'``) or each repeated block (``'regional'``), with
    ``fullgraph=True`` (:func:`catravs.engine.hooks.compile_forward`)."""
    from mmengine.registry import DefaultScope

    from catravs.registry import MODELS
    notes = []
    with DefaultScope.overwrite_default_scope(SCOPE):
        model = MODELS.build(model_cfg)
    if path == 'reference':
        from catravs.models.utils import set_reference_impl
        if not set_reference_impl(model):
            notes.append('no part computes two ways: the model as built')
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        notes.append('channels_last')
    if compile_parts:
        from catravs.engine.hooks import compile_forward
        scope = 'forward' if compile_parts is True else compile_parts
        compile_forward(model, fullgraph=True, scope=scope)
        notes.append('compiled forward (fullgraph)' if scope == 'forward'
                     else 'compiled blocks (regional)')
    return model, notes


def time_steps(step: Callable[[], Any], steps: int, warmup: int, device: str,
               progress: Callable[[str], None] | None = None) -> list[float]:
    """Seconds of each of the ``warmup + steps`` calls of ``step`` (warm-up first)."""
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    times = []
    for i in range(warmup + steps):
        if progress:
            progress(f'{"warm-up" if i < warmup else "timed"} step {i}')
        sync()
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return times


def amp_dtype(device: str, name: str | None = None) -> torch.dtype:
    """The autocast dtype: ``name`` if given, else float16 on CUDA and bfloat16 elsewhere."""
    if name:
        return getattr(torch, name)
    return torch.float16 if device.startswith('cuda') else torch.bfloat16


def _optim_wrapper(model: nn.Module, cfg: Any, amp: bool, dtype: torch.dtype,
                   path: ComputePath = 'ours'):
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    optim_cfg = dict(cfg.get('optim_wrapper') or dict(optimizer=dict(type='Adam', lr=1e-5)))
    if amp:
        optim_cfg['type'] = 'AnyDeviceAmpOptimWrapper' if path == 'ours' \
            else 'AutocastOptimWrapper'
        optim_cfg['dtype'] = str(dtype).replace('torch.', '')
    with DefaultScope.overwrite_default_scope(SCOPE):
        return build_optim_wrapper(model, optim_cfg)


def measure_model(cfg: Any, task: Literal['train', 'test'], device: str, clips: int,
                  shape: Sequence[int], steps: int, warmup: int, path: ComputePath = 'ours',
                  amp: bool = False, compile_parts: bool | str = False,
                  channels_last: bool = False,
                  with_cp: bool = False,
                  progress: Callable[[str], None] | None = None,
                  amp_dtype_name: str | None = None, count: bool = True) -> dict[str, Any]:
    """Time ``task`` steps of ``cfg.model`` on a synthetic batch; a result dict
    (``step_s`` median of the timed steps, ``first_step_s`` (with ``compile_parts``: the
    compilation), ``clips_per_s``, ``frames_per_s``, ``peak_bytes``, ``times``,
    ``precision``, ``optimizer_step_s`` (training: median seconds of the optimizer step,
    gradient clipping included, within the timed steps); with ``count``: ``flops`` and
    ``host_syncs`` of one more step, :func:`count_step`...). ``amp`` applies to both
    paths (the reference path without a ``GradScaler``)."""
    t, h, w = shape
    model_cfg = prepare_model_cfg(cfg['model'].to_dict() if hasattr(cfg['model'], 'to_dict')
                                  else dict(cfg['model']), path, with_cp)
    if path == 'reference':
        compile_parts = channels_last = False
    torch.manual_seed(0)
    model, notes = build_model(model_cfg, path, device, channels_last, compile_parts)
    from catravs.datasets import S4Dataset
    dataset = ((cfg.get('train_dataloader') or {}).get('dataset') or {}).get('type')
    first_only = isinstance(dataset, str) and dataset in DATASETS and \
        issubclass(DATASETS.get(dataset), S4Dataset)  # S4 trains on frame 1's mask
    batch = synthetic_batch(model, clips, t, h, w, segmentation_task(model),
                            num_output_classes(model), 'first' if first_only else 'all')
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats(torch.device(device))
    dtype = amp_dtype(device, amp_dtype_name)
    if task == 'train':
        model.train()
        optim_wrapper = _optim_wrapper(model, cfg, amp, dtype, path)
        optim_times = _time_optimizer_steps(optim_wrapper, device)
        step = lambda: model.train_step(batch, optim_wrapper)  # noqa: E731
        scaler = getattr(optim_wrapper, 'loss_scaler', None) is not None
    else:
        model.eval()
        scaler = False
        ctx = (lambda: torch.autocast(device.split(':')[0], dtype=dtype)) if amp else nullcontext

        def step():
            with ctx():
                return model.test_step(batch)
    all_times = time_steps(step, steps, warmup, device, progress)
    times = all_times[warmup:]
    median = statistics.median(times)
    optim_step_s = statistics.median(optim_times[warmup:]) \
        if task == 'train' and len(optim_times) > warmup else None
    peak = peak_memory_bytes(device)
    counted = {}
    if count:
        if progress:
            progress('counting FLOPs and host syncs')
        host = [] if task != 'train' else [
            v for state in optim_wrapper.optimizer.state.values() for k, v in state.items()
            if k == 'step']
        if task == 'train':
            counted = count_step(step, device, host)
        else:  # parameters without grad (the counter's module hooks need it), MHA fast path off
            from catravs.analysis.complexity import counting_state
            with counting_state(model):
                counted = count_step(step, device, host)
    return dict(path=path, task=task, device=device, clips=clips, shape=[t, h, w],
                amp=amp, amp_dtype=str(dtype).replace('torch.', '') if amp else None,
                precision=precision(amp, dtype, scaler), optimizer_step_s=optim_step_s,
                **counted,
                first_step_s=all_times[0], compile=compile_parts, channels_last=channels_last,
                with_cp=with_cp and path == 'ours', step_s=median, times=times,
                clips_per_s=clips / median, frames_per_s=clips * t / median,
                peak_bytes=peak, notes=notes,
                machine=machine_info(device))


def _time_optimizer_steps(optim_wrapper: Any, device: str) -> list[float]:
    """Time every later ``optim_wrapper.step()`` (gradient clipping and the update, device
    synchronised around it); returns the list the seconds are appended to."""
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    seconds: list[float] = []
    step = optim_wrapper.step

    def timed_step(**kwargs):
        sync()
        start = time.perf_counter()
        out = step(**kwargs)
        sync()
        seconds.append(time.perf_counter() - start)
        return out

    optim_wrapper.step = timed_step
    return seconds


def set_optimizer_impl(cfg: Any, impl: Literal['for-loop', 'foreach', 'fused']) -> None:
    """``cfg.optim_wrapper.optimizer`` (changed in place) with PyTorch's implementation
    ``impl``: ``fused=True`` (one kernel for all parameters; step counters on the device,
    so no per-parameter ``.item()``), ``foreach=True`` (multi-tensor ops) or
    ``foreach=False`` (a loop over the parameters)."""
    optimizer = cfg['optim_wrapper']['optimizer']
    for key in ('fused', 'foreach'):
        optimizer.pop(key, None)
    if impl == 'fused':
        optimizer['fused'] = True
    else:
        optimizer['foreach'] = impl == 'foreach'


def precision(amp: bool, dtype: torch.dtype, grad_scaler: bool) -> str:
    """``'float32'``, ``'bfloat16 autocast'``, ``'float16 autocast + GradScaler'``..."""
    if not amp:
        return 'float32'
    name = str(dtype).replace('torch.', '')
    return f'{name} autocast' + (' + GradScaler' if grad_scaler else '')


def count_step(step: Callable[[], Any], device: str,
               host_tensors: Sequence[torch.Tensor] = ()) -> dict[str, Any]:
    """Run ``step`` once more, eagerly (``torch.compile`` stance ``force_eager``), counting
    its FLOPs (forward and backward) and host syncs: ``dict(flops=int,
    host_syncs=dict(total=..., <kind>=..., where={op: n}))``."""
    from torch.utils.flop_counter import FlopCounterMode

    from catravs.analysis.complexity import custom_flop_mapping
    from catravs.analysis.host_syncs import SYNC_KINDS, HostSyncCounter
    flops = FlopCounterMode(display=False, depth=None, custom_mapping=custom_flop_mapping())
    syncs = HostSyncCounter(device, host_tensors)
    with torch.compiler.set_stance('force_eager'), flops, syncs:
        step()
    return dict(flops=int(flops.get_total_flops()),
                host_syncs=dict(total=syncs.total, **{k: syncs.counts[k] for k in SYNC_KINDS},
                                where=dict(syncs.where)))


def utilisation(result: dict[str, Any], peak_tflops: float | None = None) -> dict[str, Any]:
    """Achieved TFLOP/s of ``result`` (``flops / step_s``) and, on CUDA or with
    ``peak_tflops``, the fraction of the device's dense peak for the dtype it computed in
    (:mod:`catravs.analysis.device_peaks`): ``dict(tflops_per_s, peak_tflops, peak_of,
    mfu)``, the last three None where no peak is known."""
    from catravs.analysis.device_peaks import device_peak, peak_dtype
    out = dict(tflops_per_s=None, peak_tflops=None, peak_of=None, mfu=None)
    if not result.get('flops') or not result.get('step_s'):
        return out
    out['tflops_per_s'] = result['flops'] / result['step_s'] / 1e12
    dtype = getattr(torch, result['amp_dtype']) if result.get('amp') else None
    kind = peak_dtype(dtype)
    if peak_tflops:
        out.update(peak_tflops=float(peak_tflops), peak_of='--peak-tflops')
    elif str(result.get('device', '')).startswith('cuda'):
        found = device_peak(result.get('machine', {}).get('gpu', ''), kind)
        if found:
            out.update(peak_tflops=found[1], peak_of=f'{found[0]} dense {kind}')
    if out['peak_tflops']:
        out['mfu'] = out['tflops_per_s'] / out['peak_tflops']
    return out


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An aligned plain-text table (floats with 3 significant digits)."""
    cells = [[f'{c:.3g}' if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    line = lambda vals: '| ' + ' | '.join(v.ljust(w) for v, w in zip(vals, widths)) + ' |'  # noqa: E731
    rule = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    return '\n'.join([rule, line(header), rule, *[line(r) for r in cells], rule])
