"""Parameters and FLOPs of a model, per model part (``tools/analysis_tools/get_flops.py``).

FLOPs are counted with :class:`torch.utils.flop_counter.FlopCounterMode` on one
forward pass: matrix products, convolutions and attention (a multiply-add counts
as 2 FLOPs; normalisation, activations, interpolation and other element-wise
ops are not counted, as in fvcore and mmengine). The per-part numbers come from
the counter's module hierarchy; ``other`` is what the segmentor computes outside
its parts.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

from catravs.utils.vggish_params import VGGISH_EXAMPLE_SHAPE

__all__ = ['MODEL_PARTS', 'PartComplexity', 'ComplexityReport', 'strip_pretrained',
           'build_model_for_analysis', 'custom_flop_mapping', 'dummy_inputs',
           'count_parameters', 'count_flops', 'counting_state', 'analyse_model', 'format_report']

#: CATR's parts, in data-flow order (rows of the table).
MODEL_PARTS: tuple[str, ...] = ('backbone', 'neck', 'audio_encoder', 'audio_proj',
                                'input_proj', 'fusion', 'decoder', 'head')


def _cpu_flash_attention_flops(query: Sequence[int], key: Sequence[int], value: Sequence[int],
                               *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """FLOPs of ``aten._scaled_dot_product_flash_attention_for_cpu`` (the CPU SDPA kernel,
    which ``FlopCounterMode`` does not know): the same as the other SDPA kernels."""
    return sdpa_flop_count(query, key, value)


def _cpu_flash_attention_backward_flops(grad_out: Sequence[int], query: Sequence[int],
                                        key: Sequence[int], value: Sequence[int], *args: Any,
                                        out_shape: Any = None, **kwargs: Any) -> int:
    """FLOPs of the CPU SDPA kernel's backward: as the other SDPA backward kernels."""
    return sdpa_backward_flop_count(grad_out, query, key, value)


def custom_flop_mapping() -> dict:
    """``FlopCounterMode(custom_mapping=...)`` for the kernels it does not know: the CPU
    SDPA kernel and its backward."""
    mapping = {}
    for name, count in (('_scaled_dot_product_flash_attention_for_cpu',
                         _cpu_flash_attention_flops),
                        ('_scaled_dot_product_flash_attention_for_cpu_backward',
                         _cpu_flash_attention_backward_flops)):
        op = getattr(torch.ops.aten, name, None)
        if op is not None:
            mapping[op] = count
    return mapping


_custom_flop_mapping = custom_flop_mapping


@dataclass
class PartComplexity:
    """Parameters and FLOPs of one model part."""

    name: str
    params: int = 0
    trainable: int = 0
    flops: int = 0


@dataclass
class ComplexityReport:
    """Per-part complexity of a model for one input.

    Attributes:
        parts: one entry per part, in :data:`MODEL_PARTS` order, then any other
            child module with parameters or FLOPs, then ``other`` (FLOPs outside
            every part).
        total: the whole model.
        input_shape: ``(B, T, H, W)`` of the frames.
    """

    parts: list[PartComplexity] = field(default_factory=list)
    total: PartComplexity = field(default_factory=lambda: PartComplexity('total'))
    input_shape: tuple[int, ...] = ()

    def part(self, name: str) -> PartComplexity:
        for item in self.parts:
            if item.name == name:
                return item
        raise KeyError(f'no part named {name!r}; parts: {[p.name for p in self.parts]}')


def strip_pretrained(cfg: Any) -> Any:
    """A deep copy of ``cfg`` (dicts / lists) without ``Pretrained`` init configs.

    ``init_cfg`` entries of type ``'Pretrained'`` are removed (lists are filtered),
    so that building and initialising the model reads no file.
    """
    def is_pretrained(item: Any) -> bool:
        return isinstance(item, dict) and item.get('type') in ('Pretrained', 'PretrainedInit')

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == 'init_cfg':
                    if is_pretrained(value):
                        continue
                    if isinstance(value, (list, tuple)):
                        value = [v for v in value if not is_pretrained(v)]
                        if not value:
                            continue
                out[key] = walk(value)
            return out
        if isinstance(node, (list, tuple)):
            return type(node)(walk(v) for v in node)
        return node

    if hasattr(cfg, 'to_dict'):
        cfg = cfg.to_dict()
    return walk(copy.deepcopy(cfg))


def build_model_for_analysis(cfg: Any) -> nn.Module:
    """Build ``cfg.model`` (a Config, or a dict with a ``model`` key) without pretrained files.

    ``init_weights`` is not called: the weights stay at their construction-time
    values, which is all that parameter and FLOP counts need.
    """
    from catravs.registry import MODELS
    model_cfg = cfg['model'] if 'model' in cfg else cfg
    return MODELS.build(strip_pretrained(model_cfg))


def dummy_inputs(model: nn.Module, num_frames: int = 5, height: int = 224, width: int = 224,
                 batch: int = 1, seed: int = 0) -> dict[str, Tensor]:
    """Random ``frames[B, T, 3, H, W]`` and audio ``[B, T, ...]`` for ``model``.

    The audio is ``[B, T, D]`` for a :class:`PrecomputedAudioEmbedding` encoder
    (``D = in_channels``) and VGGish log-mel examples ``[B, T, 1, 96, 64]`` otherwise.
    """
    from catravs.models.audio_encoders import PrecomputedAudioEmbedding
    gen = torch.Generator().manual_seed(seed)
    frames = torch.randn(batch, num_frames, 3, height, width, generator=gen)
    encoder = getattr(model, 'audio_encoder', None)
    if isinstance(encoder, PrecomputedAudioEmbedding):
        audio = torch.randn(batch, num_frames, encoder.in_channels, generator=gen)
    else:
        audio = torch.randn(batch, num_frames, *VGGISH_EXAMPLE_SHAPE, generator=gen)
    device = next((p.device for p in model.parameters()), torch.device('cpu'))
    return dict(frames=frames.to(device), audio=audio.to(device))


def _part_names(model: nn.Module) -> list[str]:
    names = [n for n in MODEL_PARTS if hasattr(model, n)]
    names += [n for n, child in model.named_children()
              if n not in names and any(True for _ in child.parameters())]
    return names


def count_parameters(model: nn.Module) -> dict[str, tuple[int, int]]:
    """``{part: (parameters, trainable parameters)}`` for each part and ``'total'``.

    Parts: the :data:`MODEL_PARTS` the model has, then its other children with
    parameters. Shared parameters are counted once in the total.
    """
    out: dict[str, tuple[int, int]] = {}
    for name in _part_names(model):
        params = list(getattr(model, name).parameters())
        out[name] = (sum(p.numel() for p in params),
                     sum(p.numel() for p in params if p.requires_grad))
    params = list(model.parameters())
    out['total'] = (sum(p.numel() for p in params),
                    sum(p.numel() for p in params if p.requires_grad))
    return out


@contextmanager
def counting_state(model: nn.Module) -> Iterator[None]:
    """Eval mode, no gradients, MHA fast path off (its fused kernel hides the FLOPs);
    everything restored afterwards."""
    training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        model.eval()
        # no parameter may require grad: FlopCounterMode's module tracker hooks
        # fail on no-grad views of such parameters
        for p, _ in flags:
            p.requires_grad_(False)
        torch.backends.mha.set_fastpath_enabled(False)
        with torch.no_grad():
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        for p, flag in flags:
            p.requires_grad_(flag)
        model.train(training)


def count_flops(model: nn.Module, inputs: dict[str, Tensor],
                forward_kwargs: dict | None = None) -> dict[str, int]:
    """FLOPs of one forward pass, ``{part: flops}`` with ``'other'`` and ``'total'``.

    Args:
        model: a segmentor whose parts are its children (CATR).
        inputs: what ``model(inputs, mode='tensor')`` takes.
        forward_kwargs: extra keyword arguments of the call
            (default ``dict(mode='tensor')``).
    """
    forward_kwargs = dict(mode='tensor') if forward_kwargs is None else forward_kwargs
    counter = FlopCounterMode(display=False, depth=None, custom_mapping=_custom_flop_mapping())
    with counting_state(model), counter:
        model(inputs, **forward_kwargs)
    counts = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    total = counts.get('Global', 0)
    root = type(model).__name__
    out = {name: counts.get(f'{root}.{name}', 0) for name in _part_names(model)}
    for name, _ in model.named_children():  # children without parameters (e.g. criterion)
        if name not in out and counts.get(f'{root}.{name}', 0):
            out[name] = counts[f'{root}.{name}']
    out['other'] = total - sum(out.values())
    out['total'] = total
    return out


def analyse_model(model: nn.Module, num_frames: int = 5, height: int = 224, width: int = 224
                  ) -> ComplexityReport:
    """Parameters and FLOPs per part for one clip of ``num_frames x height x width``."""
    params = count_parameters(model)
    flops = count_flops(model, dummy_inputs(model, num_frames, height, width))
    report = ComplexityReport(input_shape=(1, num_frames, height, width))
    for name in [n for n in params if n != 'total'] + [
            n for n in flops if n not in params and n != 'total']:
        total, trainable = params.get(name, (0, 0))
        report.parts.append(PartComplexity(name, total, trainable, flops.get(name, 0)))
    report.total = PartComplexity('total', *params['total'], flops['total'])
    return report


def _human(value: float, units: Sequence[str] = ('', 'K', 'M', 'G', 'T')) -> str:
    for unit in units:
        if abs(value) < 1000 or unit == units[-1]:
            return f'{value:.2f}{unit}' if unit else f'{int(value)}'
        value /= 1000
    return str(value)


def format_report(report: ComplexityReport, title: str = '') -> str:
    """A Markdown table: part, parameters, trainable parameters, GFLOPs, share of FLOPs."""
    header = ('part', 'params', 'trainable', 'GFLOPs', 'FLOPs %')
    rows = []
    total_flops = max(report.total.flops, 1)
    for item in [*report.parts, report.total]:
        rows.append((item.name, _human(item.params), _human(item.trainable),
                     f'{item.flops / 1e9:.2f}', f'{100.0 * item.flops / total_flops:.1f}'))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return '| ' + ' | '.join(c.ljust(w) if i == 0 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + ' |'

    rule = '|' + '|'.join('-' * (w + 1) + ':' if i else '-' * (w + 2)
                          for i, w in enumerate(widths)) + '|'
    lines = [title] if title else []
    lines += [line(header), rule, *[line(r) for r in rows]]
    b, t, h, w = report.input_shape
    lines.append(f'\nInput: {b} clip x {t} frames x {h} x {w}. FLOPs counted by '
                 'torch.utils.flop_counter (1 multiply-add = 2 FLOPs; matmul, conv and '
                 'attention only).')
    return '\n'.join(lines)
