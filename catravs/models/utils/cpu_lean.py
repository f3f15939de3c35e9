"""The CPU lean path: attention, dropout and ReLU + dropout that keep less for backward.

PyTorch has no fused CPU kernel for attention with dropout (``scaled_dot_product_attention``
takes its math path there) and ``F.dropout`` keeps a float noise tensor, so on the CPU
autograd keeps 12 bytes per attention weight (softmax output, noise, dropped weights) and
4 bytes per dropped activation. The functions here keep the softmax output and the keep-mask
as bits (4 1/8 bytes per weight; 1/8 byte per dropped activation; ReLU + dropout only its
output) and recompute the rest in backward: the same function and gradients.

Where it runs is decided in one place, :func:`active`: training on the CPU with dropout,
eagerly. Under ``torch.compile`` (and on every other device) the callers take the stock
path (``F.scaled_dot_product_attention`` with ``dropout_p``, ``F.dropout``), which the
compiler traces. Every residual dropout goes through :func:`residual_dropout`, which
makes that choice for it. Public torch API only. :func:`set_enabled` switches the path off (for
measuring without it: ``benchmark.py --no-cpu-lean``).
"""
from __future__ import annotations

import math
from typing import Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

#: elements of one group's score matrix (about 16 MiB in float32)
_GROUP_ELEMENTS = 1 << 22
_SETTINGS = dict(enabled=True)
_BIT_WEIGHTS = (1, 2, 4, 8, 16, 32, 64, 128)


def set_enabled(enabled: bool) -> None:
    """Switch the lean path on or off for the whole process (default: on)."""
    _SETTINGS['enabled'] = bool(enabled)


def active(x: Tensor, p: float, training: bool) -> bool:
    """Whether the lean path computes a dropout of rate ``p`` on ``x``: on when enabled,
    training, ``p > 0``, ``x`` on the CPU and not under ``torch.compile``."""
    return (_SETTINGS['enabled'] and training and p > 0.0 and x.device.type == 'cpu'
            and not torch.compiler.is_compiling())


def keep_mask(shape: tuple[int, ...] | torch.Size, p: float,
              device: torch.device | str = 'cpu') -> Tensor:
    """``BoolTensor[shape]``: True with probability ``1 - p`` (the elements dropout keeps),
    from PyTorch's default generator (``torch.manual_seed`` repeats it)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f'dropout probability must be in [0, 1), got {p}')
    return torch.rand(tuple(shape), device=device) >= p


def pack_mask(mask: Tensor) -> Tensor:
    """``BoolTensor[...] -> UInt8Tensor[ceil(numel / 8)]``, 8 elements a byte (the first in
    the lowest bit). Undo with :func:`unpack_mask`."""
    flat = mask.reshape(-1)
    pad = -flat.numel() % 8
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    weights = torch.tensor(_BIT_WEIGHTS, dtype=torch.uint8, device=mask.device)
    return flat.view(-1, 8).to(torch.uint8).mul_(weights).sum(-1, dtype=torch.uint8)


def unpack_mask(packed: Tensor, shape: tuple[int, ...] | torch.Size) -> Tensor:
    """The ``BoolTensor[shape]`` that :func:`pack_mask` packed."""
    weights = torch.tensor(_BIT_WEIGHTS, dtype=torch.uint8, device=packed.device)
    bits = packed[:, None].bitwise_and(weights).ne(0).reshape(-1)
    return bits[:math.prod(shape)].view(tuple(shape))


def _groups(n: int, lq: int, lk: int) -> list[slice]:
    size = max(1, _GROUP_ELEMENTS // max(1, lq * lk))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


class _DropoutAttention(torch.autograd.Function):
    """Over groups of (batch x head) slices, so that one group's temporaries stay small."""

    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor, bias: Optional[Tensor],
                p: float) -> Tensor:
        # q [n, Lq, d], k [n, Lk, d], v [n, Lk, dv], bias [n or 1, 1 or Lq, Lk] or None
        n, lq, d = q.shape
        lk = k.shape[1]
        scale, keep_scale = 1.0 / math.sqrt(d), 1.0 / (1.0 - p)
        probs = q.new_empty(n, lq, lk)
        keep = keep_mask((n, lq, lk), p, q.device)
        out = q.new_empty(n, lq, v.shape[-1])
        for g in _groups(n, lq, lk):
            scores = torch.bmm(q[g] * scale, k[g].transpose(1, 2))
            if bias is not None:
                scores += bias if bias.shape[0] == 1 else bias[g]
            # softmax written into probs[g] (no second copy of the scores)
            torch.sub(scores, scores.amax(-1, keepdim=True), out=probs[g])
            probs[g].exp_()
            probs[g].div_(probs[g].sum(-1, keepdim=True))
            dropped = probs[g].mul(keep[g]).mul_(keep_scale)
            torch.bmm(dropped, v[g], out=out[g])
        ctx.scale, ctx.keep_scale = scale, keep_scale
        ctx.save_for_backward(q, k, v, probs, pack_mask(keep))
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        q, k, v, probs, packed_keep = ctx.saved_tensors
        n, lq, lk = probs.shape
        keep = unpack_mask(packed_keep, probs.shape)
        grad_q, grad_k, grad_v = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        grad_out = grad_out.contiguous()
        for g in _groups(n, lq, lk):
            dropped = probs[g].mul(keep[g]).mul_(ctx.keep_scale)
            torch.bmm(dropped.transpose(1, 2), grad_out[g], out=grad_v[g])
            grad_probs = torch.bmm(grad_out[g], v[g].transpose(1, 2))
            grad_probs.mul_(keep[g]).mul_(ctx.keep_scale)
            # softmax backward: p * (g - sum(g * p))
            dot = (grad_probs * probs[g]).sum(-1, keepdim=True)
            grad_scores = grad_probs.sub_(dot).mul_(probs[g])
            torch.bmm(grad_scores, k[g], out=grad_q[g]).mul_(ctx.scale)
            torch.bmm(grad_scores.transpose(1, 2), q[g], out=grad_k[g]).mul_(ctx.scale)
        return grad_q, grad_k, grad_v, None, None


def dropout_attention(q: Tensor, k: Tensor, v: Tensor, p: float,
                      key_padding_mask: Optional[Tensor] = None) -> Tensor:
    """``dropout(softmax(q k^T / sqrt(d) + mask), p) v``, lean in memory.

    ``q[N, h, Lq, d], k[N, h, Lk, d], v[N, h, Lk, dv]``, ``key_padding_mask``
    ``BoolTensor[N, Lk]`` (True = ignore) -> ``Tensor[N, h, Lq, dv]``, in the dtype of
    ``q`` (autocast has acted on the projections before).
    """
    n, h, lq, d = q.shape
    lk = k.shape[2]
    bias = None
    if key_padding_mask is not None:
        bias = torch.zeros(n, lk, dtype=q.dtype, device=q.device).masked_fill_(
            key_padding_mask, float('-inf'))
        bias = bias[:, None, None, :].expand(n, h, 1, lk).reshape(n * h, 1, lk)
    with torch.autocast(q.device.type, enabled=False):
        out = _DropoutAttention.apply(q.reshape(n * h, lq, d), k.reshape(n * h, lk, d),
                                      v.reshape(n * h, lk, v.shape[-1]), bias, p)
    return out.view(n, h, lq, -1)


class _ReLUDropout(torch.autograd.Function):
    """``relu(x) * keep / (1 - p)``; saves only its output: an element is positive exactly
    when ReLU passed it and dropout kept it, so the gradient is ``grad / (1 - p)`` there."""

    @staticmethod
    def forward(ctx, x: Tensor, p: float) -> Tensor:
        ctx.scale = 1.0 / (1.0 - p)
        out = torch.relu(x).mul_(keep_mask(x.shape, p, x.device)).mul_(ctx.scale)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        (out,) = ctx.saved_tensors
        return grad.mul(out > 0).mul_(ctx.scale), None


class _Dropout(torch.autograd.Function):
    """``x * keep / (1 - p)``; saves the mask as bits."""

    @staticmethod
    def forward(ctx, x: Tensor, p: float) -> Tensor:
        keep = keep_mask(x.shape, p, x.device)
        ctx.scale = 1.0 / (1.0 - p)
        ctx.save_for_backward(pack_mask(keep))
        return x.mul(keep).mul_(ctx.scale)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (packed,) = ctx.saved_tensors
        return grad.mul(unpack_mask(packed, grad.shape)).mul_(ctx.scale), None


def dropout(x: Tensor, p: float) -> Tensor:
    """``F.dropout(x, p)`` in training that keeps one bit per element for backward:
    ``Tensor[...] -> Tensor[...]``."""
    return _Dropout.apply(x, p)


def relu_dropout(x: Tensor, p: float) -> Tensor:
    """``dropout(relu(x), p)`` in training with the memory of a bare ReLU:
    ``Tensor[...] -> Tensor[...]``."""
    return _ReLUDropout.apply(x, p)


def residual_dropout(x: Tensor, dropout: Union[nn.Dropout, float], training: bool = True,
                     impl: str = 'catravs') -> Tensor:
    """``dropout(x)`` before a residual sum (or any dropout of a layer's output):
    ``Tensor[...] -> Tensor[...]``.

    ``dropout``: an ``nn.Dropout`` module (its ``p`` and ``training``) or a rate (with
    ``training``). On the ``'catravs'`` path where :func:`active` says so, :func:`dropout`
    (the mask's bits kept); otherwise the stock op: the module itself, or ``F.dropout``
    (``impl='reference'``, CUDA, ``torch.compile``, evaluation).
    """
    module = dropout if isinstance(dropout, nn.Dropout) else None
    p, training = (module.p, module.training) if module is not None else (dropout, training)
    if impl == 'catravs' and active(x, p, training):
        return _Dropout.apply(x, p)
    return module(x) if module is not None else F.dropout(x, p, training)
