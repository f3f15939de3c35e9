"""Attention with dropout on the attention weights: 4 1/8 bytes kept per weight, not 12.

PyTorch has no fused CPU kernel for attention with dropout: ``scaled_dot_product_attention``
falls back to its math path there, and autograd then keeps the softmax output, the dropout
noise (float) and the dropped weights: 12 bytes per attention weight (3 x 95 MiB per
spatial layer of CATR at 5 x 224 x 224). This function keeps the softmax output and the
keep-mask as bits and recomputes the dropped weights in backward: the same function and
gradients, 4 1/8 bytes per weight. Masks come from :func:`.dropout_ops.keep_mask`.

Work is done over groups of (batch x head) slices so that the temporaries of one group
(scores, dropped weights) stay small.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from .dropout_ops import keep_mask, pack_mask, unpack_mask

#: elements of one group's score matrix (about 16 MiB in float32)
_GROUP_ELEMENTS = 1 << 22


def _groups(n: int, lq: int, lk: int) -> list[slice]:
    size = max(1, _GROUP_ELEMENTS // max(1, lq * lk))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


class _DropoutAttention(torch.autograd.Function):

    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor, bias: Optional[Tensor],
                p: float) -> Tensor:
        # q [n, Lq, d], k [n, Lk, d], v [n, Lk, dv], bias [n or 1, 1 or Lq, Lk] or None
        n, lq, d = q.shape
        lk = k.shape[1]
        scale = 1.0 / math.sqrt(d)
        keep_scale = 1.0 / (1.0 - p)
        probs = q.new_empty(n, lq, lk)
        keep = keep_mask((n, lq, lk), p, q.device)
        out = q.new_empty(n, lq, v.shape[-1])
        for g in _groups(n, lq, lk):
            scores = torch.bmm(q[g] * scale, k[g].transpose(1, 2))
            if bias is not None:
                scores += bias if bias.shape[0] == 1 else bias[g]
            torch.ops.aten._softmax.out(scores, -1, False, out=probs[g])
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
            grad_scores = torch._softmax_backward_data(grad_probs, probs[g], -1, probs.dtype)
            torch.bmm(grad_scores, k[g], out=grad_q[g]).mul_(ctx.scale)
            torch.bmm(grad_scores.transpose(1, 2), q[g], out=grad_k[g]).mul_(ctx.scale)
        return grad_q, grad_k, grad_v, None, None


@torch.compiler.disable  # numpy draws the masks: run eagerly, a clean graph break
def dropout_attention(q: Tensor, k: Tensor, v: Tensor, p: float,
                      key_padding_mask: Optional[Tensor] = None) -> Tensor:
    """``dropout(softmax(q k^T / sqrt(d) + mask), p) v``, lean in memory.

    ``q[N, h, Lq, d], k[N, h, Lk, d], v[N, h, Lk, dv]``, ``key_padding_mask``
    ``BoolTensor[N, Lk]`` (True = ignore) -> ``Tensor[N, h, Lq, dv]``. All in the
    dtype of ``q`` (autocast is applied by the projections before).
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
