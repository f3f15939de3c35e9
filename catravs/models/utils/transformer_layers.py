"""Post-norm transformer layers with DETR-style position embeddings (batch first)."""
from __future__ import annotations

from typing import Literal, Optional

import torch.nn as nn
from torch import Tensor

from . import cpu_lean
from .attention import AttentionImpl, ImplChoice, MultiheadAttention
from .cpu_lean import residual_dropout


def with_pos(x: Tensor, pos: Optional[Tensor]) -> Tensor:
    return x if pos is None else x + pos


Activation = Literal['relu', 'gelu']
# Out of place: an in-place ReLU on the first Linear's output (a view of its 2-D
# product) makes autograd copy the hidden tensor twice and zero-fill it once in
# backward (CopySlices), which the released code's F.relu does not.
_ACTIVATIONS = {'relu': nn.ReLU, 'gelu': nn.GELU}


class FFN(ImplChoice, nn.Module):
    """Linear -> ReLU (or GELU) -> dropout -> Linear, then residual and LayerNorm (post-norm).

    ``impl`` (set with :func:`.attention.set_attention_impl`): ``'reference'`` runs the
    ``nn.ReLU`` and ``nn.Dropout`` modules, as the released code; so does ``'catravs'``,
    except where :func:`.cpu_lean.active` says so (eager CPU training), where ReLU and
    dropout are one :func:`.cpu_lean.relu_dropout` that keeps only its output for
    backward (one hidden-size tensor instead of three) and the residual dropout is
    :func:`.cpu_lean.dropout` (the mask's bits). Same parameters. ``activation='gelu'``
    (AVSegFormer) always runs the modules of ``net``.
    """

    follows_attention_impl = True

    def __init__(self, d_model: int, dim_feedforward: int, dropout: float = 0.1,
                 impl: AttentionImpl = 'catravs', activation: Activation = 'relu') -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f'FFN activation must be one of {sorted(_ACTIVATIONS)}, '
                             f'got {activation!r}')
        self.activation = activation
        self.net = nn.Sequential(
            nn.Linear(d_model, dim_feedforward), _ACTIVATIONS[activation](), nn.Dropout(dropout),
            nn.Linear(dim_feedforward, d_model))
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)
        self.impl = impl

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[N, L, C] -> Tensor[N, L, C]``."""
        linear1, _, hidden_dropout, linear2 = self.net
        if (self.impl == 'catravs' and self.activation == 'relu'
                and cpu_lean.active(x, hidden_dropout.p, self.training)):
            hidden = linear2(cpu_lean.relu_dropout(linear1(x), hidden_dropout.p))
        else:
            hidden = self.net(x)
        return self.norm(x + residual_dropout(hidden, self.dropout, impl=self.impl))


class AttentionLayer(nn.Module):
    """Multi-head attention, residual and LayerNorm (post-norm).

    ``forward(query[N, Lq, C], key_value[N, Lk, C], query_pos, key_pos,
    key_padding_mask[N, Lk]) -> Tensor[N, Lq, C]``; self-attention when
    ``key_value`` is ``query``. Positions are added to queries and keys only.
    """

    def __init__(self, d_model: int, nhead: int, dropout: float = 0.1,
                 bias: bool = True) -> None:
        super().__init__()
        self.attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)

    def attend(self, query: Tensor, key_value: Tensor, query_pos: Optional[Tensor] = None,
               key_pos: Optional[Tensor] = None,
               key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """The attention output alone, before residual and norm: ``Tensor[N, Lq, C]``."""
        return self.attn(with_pos(query, query_pos), with_pos(key_value, key_pos), key_value,
                         key_padding_mask)

    def forward(self, query: Tensor, key_value: Tensor, query_pos: Optional[Tensor] = None,
                key_pos: Optional[Tensor] = None,
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        out = self.attend(query, key_value, query_pos, key_pos, key_padding_mask)
        return self.norm(query + residual_dropout(out, self.dropout, impl=self.attn.impl))


class EncoderLayer(nn.Module):
    """Self-attention + FFN, post-norm: ``Tensor[N, L, C] -> Tensor[N, L, C]``."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.self_attn = AttentionLayer(d_model, nhead, dropout)
        self.ffn = FFN(d_model, dim_feedforward, dropout)

    def forward(self, x: Tensor, pos: Optional[Tensor] = None,
                padding_mask: Optional[Tensor] = None) -> Tensor:
        x = self.self_attn(x, x, pos, pos, padding_mask)
        return self.ffn(x)


class DecoderLayer(nn.Module):
    """Query self-attention, cross-attention to memory, FFN; post-norm (DETR).

    ``forward(tgt[N, Q, C], memory[N, S, C], query_pos[N, Q, C], memory_pos[N, S, C],
    memory_padding_mask[N, S]) -> Tensor[N, Q, C]``. ``activation``: the FFN's;
    ``attn_bias``: biases of the attention projections.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int,
                 dropout: float = 0.1, activation: Activation = 'relu',
                 attn_bias: bool = True) -> None:
        super().__init__()
        self.self_attn = AttentionLayer(d_model, nhead, dropout, attn_bias)
        self.cross_attn = AttentionLayer(d_model, nhead, dropout, attn_bias)
        self.ffn = FFN(d_model, dim_feedforward, dropout, activation=activation)

    def forward(self, tgt: Tensor, memory: Tensor, query_pos: Optional[Tensor] = None,
                memory_pos: Optional[Tensor] = None,
                memory_padding_mask: Optional[Tensor] = None) -> Tensor:
        tgt = self.self_attn(tgt, tgt, query_pos, query_pos)
        tgt = self.cross_attn(tgt, memory, query_pos, memory_pos, memory_padding_mask)
        return self.ffn(tgt)


class MLP(nn.Module):
    """``num_layers`` linear layers with ReLU between.

    ``Tensor[..., C_in] -> Tensor[..., C_out]``.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int) -> None:
        super().__init__()
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = x.relu()
        return x
