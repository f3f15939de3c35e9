"""Multi-head attention with two interchangeable implementations of one function."""
from __future__ import annotations

from typing import Literal, Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from . import cpu_lean

AttentionImpl = Literal['catravs', 'reference']
ATTENTION_IMPLS = ('catravs', 'reference')


class ImplChoice:
    """Mixin: an ``impl`` attribute (``'catravs'`` or ``'reference'``) that is checked on
    every assignment, so a wrong name fails where it is set."""

    @property
    def impl(self) -> str:
        return self._impl

    @impl.setter
    def impl(self, value: str) -> None:
        self._impl = check_attention_impl(value)


class MultiheadAttention(ImplChoice, nn.MultiheadAttention):
    """``nn.MultiheadAttention`` (batch first) that computes through SDPA by default.

    Same parameters, state-dict keys and initialisation as ``nn.MultiheadAttention``,
    so checkpoints move between the two. ``impl`` chooses how the attention is
    computed; both give the same function (tests compare outputs and gradients):

    * ``'catravs'``: ``F.scaled_dot_product_attention`` with ``dropout_p`` (flash /
      memory-efficient kernels with in-kernel dropout where the device has them); no
      attention weights are kept. Where :func:`.cpu_lean.active` says so (eager
      training with dropout on the CPU, where no fused kernel takes dropout):
      :func:`.cpu_lean.dropout_attention` (4 1/8 bytes kept per weight, not 12).
    * ``'reference'``: ``nn.MultiheadAttention.forward`` with materialised,
      returned attention weights: how the released CATR code computes.

    ``bias=False`` drops the input and output projections' biases (as ``nn.MultiheadAttention``).

    ``forward(query[N, Lq, C], key[N, Lk, C], value[N, Lk, C],
    key_padding_mask: BoolTensor[N, Lk] (True = ignore) = None) -> Tensor[N, Lq, C]``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0,
                 impl: AttentionImpl = 'catravs', bias: bool = True) -> None:
        super().__init__(embed_dim, num_heads, dropout=dropout, bias=bias, batch_first=True)
        self.impl = impl

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        if self.impl == 'reference':
            out, _ = super().forward(query, key, value, key_padding_mask=key_padding_mask,
                                     need_weights=True)
            return out
        n, lq, c = query.shape
        heads = self.num_heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)

        def split(x: Tensor, w: Tensor, b: Tensor) -> Tensor:  # [N, L, C] -> [N, h, L, d]
            return F.linear(x, w, b).unflatten(-1, (heads, c // heads)).transpose(1, 2)

        q, k, v = split(query, w_q, b_q), split(key, w_k, b_k), split(value, w_v, b_v)
        dropout_p = self.dropout if self.training else 0.0
        if cpu_lean.active(q, dropout_p, self.training):
            out = cpu_lean.dropout_attention(q, k, v, dropout_p, key_padding_mask)
        else:
            mask = None
            if key_padding_mask is not None:
                mask = ~key_padding_mask[:, None, None, :]  # True = attend
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        return self.out_proj(out.transpose(1, 2).reshape(n, lq, c))


def check_attention_impl(value: str) -> str:
    """``value`` if it names an implementation, else a ``ValueError``."""
    if value not in ATTENTION_IMPLS:
        raise ValueError(f'attention impl must be one of {ATTENTION_IMPLS}, got {value!r}')
    return value


def set_attention_impl(model: nn.Module, impl: AttentionImpl) -> int:
    """Set ``impl`` on every :class:`MultiheadAttention` of ``model`` and on every module
    whose class sets ``follows_attention_impl = True`` (the transformer FFN); returns how
    many were set."""
    check_attention_impl(impl)
    count = 0
    for module in model.modules():
        if isinstance(module, MultiheadAttention) or getattr(
                type(module), 'follows_attention_impl', False):
            module.impl = impl
            count += 1
    return count
