"""The CPU lean path of catravs' attention and FFN against plain autograd oracles.

``dropout_attention`` and ``relu_dropout`` draw their masks with ``keep_mask``; the
oracles are the textbook formulas through autograd with the same mask (the mask is
captured from the call), so outputs and all gradients must agree; and the saved
tensors are counted to show the memory they exist for.
"""
from __future__ import annotations

import math

import pytest
import torch

from catravs.models.utils import FFN, MultiheadAttention, cpu_lean
from catravs.models.utils.cpu_lean import dropout_attention, keep_mask, relu_dropout


# ------------------------------------------------------------------------ keep_mask
def test_keep_mask_rate_is_one_minus_p_and_repeats_under_manual_seed():
    n, p = 200_000, 0.1
    torch.manual_seed(5)
    a = keep_mask((n,), p)
    b = keep_mask((n,), p)
    torch.manual_seed(5)
    a2 = keep_mask((n,), p)
    assert a.dtype == torch.bool and a.shape == (n,)
    assert torch.equal(a, a2)  # torch.manual_seed makes it repeatable
    assert not torch.equal(a, b)  # and successive draws differ
    # binomial: 6 standard deviations
    sd = math.sqrt(n * p * (1 - p))
    for mask in (a, b):
        assert abs((~mask).sum().item() - n * p) < 6 * sd
    assert keep_mask((3, 4), 0.0).all()
    with pytest.raises(ValueError, match='dropout probability'):
        keep_mask((3,), 1.0)


def test_keep_mask_elements_are_independent():
    """Neighbouring elements are not correlated (a broken fill would repeat blocks)."""
    torch.manual_seed(0)
    m = keep_mask((400, 500), 0.5).double()
    pair = (m[:, 1:] * m[:, :-1]).mean().item()  # P(both kept) = 0.25 if independent
    assert abs(pair - 0.25) < 0.01
    assert abs((m[1:] * m[:-1]).mean().item() - 0.25) < 0.01


@pytest.mark.parametrize('shape', [(3,), (2, 5, 7), (8,), (1, 1)])
def test_pack_mask_round_trip_and_size(shape):
    torch.manual_seed(0)
    mask = keep_mask(shape, 0.5)
    packed = cpu_lean.pack_mask(mask)
    n = mask.numel()
    assert packed.dtype == torch.uint8 and packed.numel() == (n + 7) // 8
    assert torch.equal(cpu_lean.unpack_mask(packed, shape), mask)


# ------------------------------------------------------------------ dropout_attention
def _oracle_attention(q, k, v, p, mask, key_padding_mask):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if key_padding_mask is not None:
        scores = scores.masked_fill(key_padding_mask[:, None, None, :], float('-inf'))
    weights = scores.softmax(-1) * mask.view(scores.shape) / (1 - p)
    return weights @ v


@pytest.mark.parametrize('group_elements', [1 << 22, 50])  # one group; many groups
@pytest.mark.parametrize('padding', [False, True])
def test_dropout_attention_matches_autograd_oracle(captured_masks, monkeypatch,
                                                   group_elements, padding):
    monkeypatch.setattr(cpu_lean, '_GROUP_ELEMENTS', group_elements)
    n, h, lq, lk, d, p = 2, 3, 5, 7, 4, 0.3
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(n, h, length, d, generator=gen, dtype=torch.float64,
                           requires_grad=True) for length in (lq, lk, lk))
    kpm = None
    if padding:
        kpm = torch.zeros(n, lk, dtype=torch.bool)
        kpm[0, -2:] = True
        kpm[1, :3] = True
    out = dropout_attention(q, k, v, p, kpm)
    assert len(captured_masks) == 1 and captured_masks[0].shape == (n * h, lq, lk)
    expected = _oracle_attention(q, k, v, p, captured_masks[0], kpm)
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=1e-12)
    upstream = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    got = torch.autograd.grad(out, (q, k, v), upstream)
    want = torch.autograd.grad(expected, (q, k, v), upstream)
    for name, g, w in zip('qkv', got, want):
        torch.testing.assert_close(g, w, atol=1e-12, rtol=1e-12, msg=lambda m, n=name: f'{n}: {m}')


def test_dropout_attention_gradcheck(captured_masks, monkeypatch):
    """Finite differences (the mask is fixed: the same mask on every evaluation)."""
    fixed = {}

    def fixed_mask(shape, p, device='cpu'):
        if 'mask' not in fixed:
            torch.manual_seed(3)
            fixed['mask'] = keep_mask(shape, p, device)
        return fixed['mask']

    monkeypatch.setattr(cpu_lean, 'keep_mask', fixed_mask)
    gen = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 2, 4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
               for _ in range(3))
    assert torch.autograd.gradcheck(lambda a, b, c: dropout_attention(a, b, c, 0.25), (q, k, v))


def _saved_bytes(fn):
    """Bytes of the distinct storages autograd saves while ``fn`` runs."""
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(seen.values())


def test_multihead_attention_training_with_dropout_saves_4_bytes_per_weight():
    """On the CPU the 'catravs' impl trains with dropout through dropout_attention: it keeps
    the softmax output (4 B) and the mask's bits (1/8 B) per attention weight; the
    reference impl keeps softmax output, noise and dropped weights (12 B)."""
    n, length, c, heads = 2, 300, 32, 4
    torch.manual_seed(0)
    mha = MultiheadAttention(c, heads, dropout=0.1).train()
    x = torch.randn(n, length, c, requires_grad=True)
    weights = n * heads * length * length
    small = 40 * n * length * c * 4  # activations of size [N, L, C]: a generous allowance
    for impl, per_weight in (('catravs', 4.125), ('reference', 12)):
        mha.impl = impl
        out, saved = _saved_bytes(lambda: mha(x, x, x))
        assert per_weight * weights <= saved <= per_weight * weights + small, (impl, saved)
        out.sum().backward()  # the lean path trains
        assert x.grad is not None and torch.isfinite(x.grad).all()
        x.grad = None


def test_multihead_attention_dropout_is_dropout():
    """In training the lean path drops weights: outputs vary between calls and average to
    the eval output (the expectation of inverted dropout)."""
    torch.manual_seed(0)
    mha = MultiheadAttention(8, 2, dropout=0.2)
    x = torch.randn(1, 6, 8)
    with torch.no_grad():
        mean_eval = mha.eval()(x, x, x)
        mha.train()
        copies = x.expand(4000, -1, -1)  # one call; every copy draws its own mask
        draws = mha(copies, copies, copies)[:, None]
    assert not torch.allclose(draws[0], draws[1])
    torch.testing.assert_close(draws.mean(0), mean_eval, atol=0.03, rtol=0)


# ------------------------------------------------------------------------ relu_dropout
def test_relu_dropout_matches_autograd_oracle(captured_masks):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 50, generator=gen, dtype=torch.float64, requires_grad=True)
    p = 0.4
    out = relu_dropout(x, p)
    expected = torch.relu(x) * captured_masks[0] / (1 - p)
    torch.testing.assert_close(out, expected, atol=1e-14, rtol=1e-14)
    upstream = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(torch.autograd.grad(out, x, upstream)[0],
                               torch.autograd.grad(expected, x, upstream)[0],
                               atol=1e-14, rtol=1e-14)


def test_dropout_matches_autograd_oracle_and_keeps_bits(captured_masks):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 13, generator=gen, dtype=torch.float64, requires_grad=True)
    p = 0.25
    out, saved = _saved_bytes(lambda: cpu_lean.dropout(x, p))
    expected = x * captured_masks[0] / (1 - p)
    torch.testing.assert_close(out, expected, atol=1e-14, rtol=1e-14)
    upstream = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(torch.autograd.grad(out, x, upstream)[0],
                               torch.autograd.grad(expected, x, upstream)[0],
                               atol=1e-14, rtol=1e-14)
    assert saved == (x.numel() + 7) // 8


def test_ffn_impls_agree_in_eval_and_lean_ffn_saves_one_hidden_tensor():
    torch.manual_seed(0)
    ffn = FFN(16, 64, dropout=0.1)
    x = torch.randn(2, 30, 16, requires_grad=True)
    ffn.eval()
    lean = ffn(x)
    ffn.impl = 'reference'
    torch.testing.assert_close(ffn(x), lean, atol=0, rtol=0)
    ffn.train()
    hidden = 2 * 30 * 64 * 4
    _, saved_ref = _saved_bytes(lambda: ffn(x))
    ffn.impl = 'catravs'
    _, saved_lean = _saved_bytes(lambda: ffn(x))
    # hidden: reference keeps ReLU output, float noise and dropped output, lean its output
    # only; residual dropout: reference keeps float noise, lean the mask's bits
    residual = x.numel()
    assert saved_ref - saved_lean == 2 * hidden + 4 * residual - (residual + 7) // 8


def test_ffn_lean_path_is_the_reference_function_under_the_same_mask(captured_masks):
    """The lean FFN in training is the textbook FFN under the masks it drew."""
    torch.manual_seed(0)
    ffn = FFN(16, 64, dropout=0.3).double().train()
    x = torch.randn(2, 7, 16, dtype=torch.float64)
    lean = ffn(x)
    linear1, _, _, linear2 = ffn.net
    hidden_mask, residual_mask = captured_masks
    hidden = linear2(torch.relu(linear1(x)) * hidden_mask / 0.7)
    ref = ffn.norm(x + hidden * residual_mask / 0.7)
    torch.testing.assert_close(lean, ref, atol=1e-12, rtol=1e-12)


# ------------------------------------------------------------------ where it runs
def test_lean_path_is_chosen_only_for_eager_cpu_training_with_dropout():
    x = torch.zeros(2)
    assert cpu_lean.active(x, 0.1, True)
    assert not cpu_lean.active(x, 0.1, False)  # eval
    assert not cpu_lean.active(x, 0.0, True)  # no dropout
    assert not cpu_lean.active(x.to('meta'), 0.1, True)  # another device
    cpu_lean.set_enabled(False)
    try:
        assert not cpu_lean.active(x, 0.1, True)
    finally:
        cpu_lean.set_enabled(True)
    seen = []

    def traced(t):
        seen.append(cpu_lean.active(t, 0.1, True))
        return t + 1

    torch._dynamo.reset()
    torch.compile(traced, backend='eager', fullgraph=True)(x)
    assert seen == [False]  # under compile: the stock path


def test_switched_off_the_attention_keeps_what_stock_sdpa_keeps():
    """``set_enabled(False)``: the 'catravs' attention trains through
    ``F.scaled_dot_product_attention`` and keeps what the reference keeps (the CPU math
    path: 12 bytes per weight)."""
    n, length, c, heads = 2, 300, 32, 4
    torch.manual_seed(0)
    mha = MultiheadAttention(c, heads, dropout=0.1).train()
    x = torch.randn(n, length, c, requires_grad=True)
    weights = n * heads * length * length
    cpu_lean.set_enabled(False)
    try:
        _, saved = _saved_bytes(lambda: mha(x, x, x))
    finally:
        cpu_lean.set_enabled(True)
    assert saved >= 8 * weights


# ------------------------------------------------------------ residual_dropout, every layer
def _layers():
    """(name, layer, run, residual dropouts, other lean dropouts that are ``F.dropout`` on
    the stock path) for every layer with a residual dropout (FFN relu: its hidden
    ReLU + dropout)."""
    from catravs.models.fusions.cross_modal_mixer import CrossModalMixer
    from catravs.models.utils import AttentionLayer, DeformableEncoderLayer
    torch.manual_seed(0)
    c, x = 16, torch.randn(2, 6, 16)
    deform = DeformableEncoderLayer(c, 32, 0.2, num_levels=1, num_heads=2, num_points=2)
    shapes = [(2, 3)]
    ref = torch.rand(2, 6, 1, 2)
    mixer = CrossModalMixer(c, num_heads=2, dropout=0.2)
    attn = AttentionLayer(c, 2, 0.2)
    return [
        ('FFN relu', FFN(c, 32, 0.2), lambda m: m(x), 1, 1),
        ('FFN gelu', FFN(c, 32, 0.2, activation='gelu'), lambda m: m(x), 1, 0),
        ('AttentionLayer', attn, lambda m: m(x, x), 1, 0),
        ('DeformableEncoderLayer', deform, lambda m: m(x, x, ref, shapes), 2, 0),
        ('CrossModalMixer', mixer, lambda m: m(torch.randn(2, c, 2, 3), torch.randn(2, c)),
         1, 0),
    ]


def _count_paths(monkeypatch, layer, run) -> tuple[int, int]:
    """(lean dropouts, stock ``F.dropout`` calls) of one training forward + backward."""
    calls = dict(lean=0, stock=0)
    lean = cpu_lean._Dropout

    class CountedDropout(lean):
        @staticmethod
        def forward(ctx, x, p):
            calls['lean'] += 1
            return lean.forward(ctx, x, p)

    stock = torch.nn.functional.dropout

    def counted_stock(*args, **kwargs):
        calls['stock'] += 1
        return stock(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(cpu_lean, '_Dropout', CountedDropout)
        m.setattr(torch.nn.functional, 'dropout', counted_stock)
        run(layer.train()).sum().backward()
    return calls['lean'], calls['stock']


@pytest.mark.parametrize('index', range(5))
def test_every_residual_dropout_takes_the_path_that_cpu_lean_chooses(monkeypatch, index):
    """Each residual dropout goes through ``cpu_lean.residual_dropout``: lean in CPU
    training; with the lean path off, or under ``torch.compile`` (as on CUDA), the stock
    ``F.dropout`` instead, one for one; in evaluation, neither draws a mask."""
    name, layer, run, residual, other = _layers()[index]
    lean, stock = _count_paths(monkeypatch, layer, run)
    assert lean == residual, name
    try:
        cpu_lean.set_enabled(False)
        assert _count_paths(monkeypatch, layer, run) == (0, stock + residual + other), name
    finally:
        cpu_lean.set_enabled(True)
    with monkeypatch.context() as m:
        m.setattr(torch.compiler, 'is_compiling', lambda: True)
        assert _count_paths(monkeypatch, layer, run) == (0, stock + residual + other), name
    x = torch.randn(3, 5)
    assert torch.equal(cpu_lean.residual_dropout(x, 0.5, training=False), x)
    assert torch.equal(cpu_lean.residual_dropout(x, torch.nn.Dropout(0.5).eval()), x)


def test_residual_dropout_keeps_the_rate() -> None:
    """Lean or stock, a kept element is scaled by 1 / (1 - p), the others are zero."""
    x = torch.ones(20000)
    for enabled in (True, False):
        cpu_lean.set_enabled(enabled)
        try:
            y = cpu_lean.residual_dropout(x, 0.25)
        finally:
            cpu_lean.set_enabled(True)
        assert set(y.unique().tolist()) <= {0.0, torch.tensor(4 / 3).item()}
        assert abs((y == 0).float().mean().item() - 0.25) < 0.02
