"""MultiheadAttention: 'catravs' and 'reference' against torch.nn.MultiheadAttention, the impl
switch on a built CATR, and activation checkpointing against a plain call."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from catravs.models.utils import (
    ATTENTION_IMPLS,
    FFN,
    EncoderLayer,
    MultiheadAttention,
    checkpointed,
    cpu_lean,
    set_attention_impl,
)
from catravs.registry import MODELS
from tests.conftest import tiny_catr_cfg

C, HEADS, N, LQ, LK = 16, 4, 3, 5, 7
TOL = {torch.float32: dict(atol=1e-5, rtol=1e-5), torch.float64: dict(atol=1e-10, rtol=1e-10)}


def _pair(dtype, impl):
    torch.manual_seed(0)
    ours = MultiheadAttention(C, HEADS, dropout=0.1, impl=impl).to(dtype)
    with torch.no_grad():  # non-zero biases, so that a lost bias shows
        ours.in_proj_bias.normal_()
        ours.out_proj.bias.normal_()
    ref = nn.MultiheadAttention(C, HEADS, dropout=0.1, batch_first=True).to(dtype)
    ref.load_state_dict(ours.state_dict())
    return ours.eval(), ref.eval()


def _inputs(dtype, padding):
    gen = torch.Generator().manual_seed(1)
    q = torch.randn(N, LQ, C, generator=gen, dtype=dtype, requires_grad=True)
    k = torch.randn(N, LK, C, generator=gen, dtype=dtype, requires_grad=True)
    v = torch.randn(N, LK, C, generator=gen, dtype=dtype, requires_grad=True)
    mask = None
    if padding:  # some keys ignored in each sample, never all of them
        mask = torch.zeros(N, LK, dtype=torch.bool)
        mask[0, -2:] = True
        mask[1, :3] = True
        mask[2, 1::2] = True
    return q, k, v, mask


def _grads(out, tensors, upstream):
    return torch.autograd.grad(out, tensors, upstream)


def test_same_parameters_and_state_dict_keys_as_torch():
    ours = MultiheadAttention(C, HEADS)
    ref = nn.MultiheadAttention(C, HEADS, batch_first=True)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in ref.state_dict().items()}


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('padding', [False, True])
@pytest.mark.parametrize('impl', ATTENTION_IMPLS)
def test_impl_matches_torch_multihead_attention(impl, padding, dtype):
    ours, ref = _pair(dtype, impl)
    q, k, v, mask = _inputs(dtype, padding)
    out = ours(q, k, v, mask)
    expected, _ = ref(q, k, v, key_padding_mask=mask, need_weights=False)
    assert out.shape == (N, LQ, C)
    torch.testing.assert_close(out, expected, **TOL[dtype])

    upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(2), dtype=dtype)
    ours_params = [ours.in_proj_weight, ours.in_proj_bias, ours.out_proj.weight,
                   ours.out_proj.bias]
    ref_params = [ref.in_proj_weight, ref.in_proj_bias, ref.out_proj.weight, ref.out_proj.bias]
    got = _grads(out, [q, k, v, *ours_params], upstream)
    want = _grads(expected, [q, k, v, *ref_params], upstream)
    for name, g, w in zip(['q', 'k', 'v', 'in_w', 'in_b', 'out_w', 'out_b'], got, want):
        torch.testing.assert_close(g, w, **TOL[dtype], msg=lambda m, n=name: f'{n}: {m}')


@pytest.mark.parametrize('impl', ATTENTION_IMPLS)
def test_padded_keys_do_not_matter(impl):
    """Changing ignored keys/values leaves the output unchanged; without the mask the same
    change does matter."""
    ours, _ = _pair(torch.float64, impl)
    q, k, v, mask = _inputs(torch.float64, True)
    out = ours(q, k, v, mask)
    k2, v2 = k.detach().clone(), v.detach().clone()
    k2[mask] += 5.0
    v2[mask] -= 3.0
    torch.testing.assert_close(ours(q, k2, v2, mask), out, atol=1e-10, rtol=1e-10)
    assert not torch.allclose(ours(q, k2, v2), ours(q, k, v))


def test_train_mode_without_dropout_matches_too():
    torch.manual_seed(0)
    ours = MultiheadAttention(C, HEADS, dropout=0.0).train()
    ref = nn.MultiheadAttention(C, HEADS, dropout=0.0, batch_first=True).train()
    ref.load_state_dict(ours.state_dict())
    q, k, v, mask = _inputs(torch.float32, True)
    for impl in ATTENTION_IMPLS:
        ours.impl = impl
        torch.testing.assert_close(ours(q, k, v, mask),
                                   ref(q, k, v, key_padding_mask=mask, need_weights=False)[0],
                                   **TOL[torch.float32])


def test_invalid_impl_raises():
    with pytest.raises(ValueError, match='impl'):
        MultiheadAttention(C, HEADS, impl='flash')
    mha = MultiheadAttention(C, HEADS)
    with pytest.raises(ValueError, match='impl'):
        mha.impl = 'math'
    ffn = FFN(C, 2 * C)
    with pytest.raises(ValueError, match='impl'):
        ffn.impl = 'lean'
    assert ffn.impl == 'catravs'  # the bad name did not stick
    with pytest.raises(ValueError, match='impl'):
        set_attention_impl(nn.Sequential(mha), 'xformers')
    torch.manual_seed(0)
    with pytest.raises(ValueError):
        MODELS.build(tiny_catr_cfg(attn_impl='naive'))


@pytest.mark.parametrize('impl', ['reference', 'catravs'])
def test_ffn_backward_copies_no_hidden_tensor(impl):
    """The released code's ``F.relu`` is out of place. An in-place ReLU on the first
    Linear's output (a view of its 2-D product) makes autograd copy the hidden tensor
    twice and zero-fill it in backward; counted here at the dispatcher."""
    from torch.utils._python_dispatch import TorchDispatchMode

    hidden_numel = 2 * 7 * (4 * C)

    class BigCopies(TorchDispatchMode):
        found: list = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func.overloadpacket in (torch.ops.aten.copy_, torch.ops.aten.new_zeros) \
                    and out.numel() >= hidden_numel:
                self.found.append((str(func), tuple(out.shape)))
            return out

    cpu_lean.set_enabled(False)  # the stock path, as on CUDA
    try:
        ffn = FFN(C, 4 * C, dropout=0.1, impl=impl).train()
        x = torch.randn(2, 7, C, requires_grad=True)
        with BigCopies() as mode:
            ffn(x).sum().backward()
    finally:
        cpu_lean.set_enabled(True)
    assert mode.found == []


# ------------------------------------------------------------------------ on CATR
RELEASED_FUSION = dict(type='ReleasedCATRFusion', d_model=32, nhead=4, num_layers=3,
                       dim_feedforward=64, temporal_feedforward=64)


def _attention_modules(model):
    return [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)]


def _switchable(model):
    """The modules ``set_attention_impl`` sets: the attentions and the transformer FFNs."""
    return _attention_modules(model) + [m for m in model.modules() if isinstance(m, FFN)]


@pytest.mark.parametrize('fusion', [None, RELEASED_FUSION], ids=['catravs', 'released'])
def test_set_attention_impl_switches_every_layer_and_keeps_the_function(make_batch, fusion):
    overrides = {} if fusion is None else dict(fusion=fusion)
    torch.manual_seed(0)
    model = MODELS.build(tiny_catr_cfg(**overrides)).eval()
    data = model.data_preprocessor(make_batch(batch=2, frames=2, size=32), True)
    # float64: in float32 the two impls' rounding differs by ~1e-4 (relative) in a few
    # gradients after GroupNorm; in float64 they agree to ~1e-15
    model.double()
    data['inputs'] = {k: v.double() for k, v in data['inputs'].items()}
    layers = _attention_modules(model)
    # every attention of the model is the switchable one, and all start on 'catravs'
    assert len(layers) >= 4 and all(isinstance(m, MultiheadAttention) for m in layers)
    assert {m.impl for m in layers} == {'catravs'}

    def run():
        model.zero_grad()
        with torch.no_grad():
            masks, classes = model(**data, mode='tensor')
        loss = sum(model(**data, mode='loss').values())
        loss.backward()
        return masks.detach(), classes.detach(), {
            n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    sdpa = run()
    ffns = [m for m in _switchable(model) if isinstance(m, FFN)]
    assert ffns and {m.impl for m in ffns} == {'catravs'}
    assert set_attention_impl(model, 'reference') == len(layers) + len(ffns)
    assert {m.impl for m in layers + ffns} == {'reference'}
    reference = run()
    torch.testing.assert_close(reference[0], sdpa[0], atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(reference[1], sdpa[1], atol=1e-10, rtol=1e-10)
    assert reference[2].keys() == sdpa[2].keys()
    attn_grads = [n for n in sdpa[2] if '.in_proj_weight' in n]
    assert attn_grads  # the attention parameters are among those compared
    for name in sdpa[2]:
        torch.testing.assert_close(reference[2][name], sdpa[2][name], atol=1e-10, rtol=1e-8,
                                   msg=lambda m, n=name: f'{n}: {m}')


def test_attn_impl_from_config():
    torch.manual_seed(0)
    model = MODELS.build(tiny_catr_cfg(attn_impl='reference'))
    layers = _switchable(model)
    assert layers and {m.impl for m in layers} == {'reference'}
    assert set_attention_impl(model, 'catravs') == len(layers)
    assert {m.impl for m in layers} == {'catravs'}


# ------------------------------------------------------------------- checkpointing
def _layer_and_calls():
    """A layer whose FFN counts its forward passes (module hooks do not fire when the
    checkpoint recomputes, so the count goes through the FFN's forward itself)."""
    torch.manual_seed(0)
    layer = EncoderLayer(C, HEADS, 32, dropout=0.2)
    calls = []
    ffn_forward = layer.ffn.forward

    def counting_forward(*args):
        calls.append(1)
        return ffn_forward(*args)

    layer.ffn.forward = counting_forward
    return layer, calls


def _run(layer, fn, x, pos):
    torch.manual_seed(123)  # same dropout draws for both runs
    out = fn(layer, x, pos)
    upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(4))
    grads = torch.autograd.grad(out, [x, pos, *layer.parameters()], upstream)
    return out.detach(), grads


def test_checkpointed_matches_a_plain_call_in_training_mode():
    layer, calls = _layer_and_calls()
    layer.train()
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 6, C, generator=gen, requires_grad=True)
    pos = torch.randn(2, 6, C, generator=gen, requires_grad=True)
    plain_out, plain_grads = _run(layer, lambda m, a, b: m(a, b), x, pos)
    assert len(calls) == 1
    calls.clear()
    cp_out, cp_grads = _run(layer, lambda m, a, b: checkpointed(m, a, b), x, pos)
    assert len(calls) == 2  # forward, then the recomputation in backward: it did checkpoint
    # dropout is active: a different draw would give another output
    torch.manual_seed(999)
    assert not torch.allclose(layer(x, pos), plain_out)
    torch.testing.assert_close(cp_out, plain_out, atol=0, rtol=0)
    for g_cp, g_plain in zip(cp_grads, plain_grads):
        torch.testing.assert_close(g_cp, g_plain, atol=1e-6, rtol=1e-6)


def test_checkpointed_is_a_plain_call_when_disabled_in_eval_or_without_grad():
    layer, calls = _layer_and_calls()
    x = torch.randn(2, 6, C, requires_grad=True)
    layer.train()
    checkpointed(layer, x, enabled=False).sum().backward()
    assert len(calls) == 1
    calls.clear()
    with torch.no_grad():
        checkpointed(layer, x)
    assert len(calls) == 1
    calls.clear()
    layer.eval()
    out = checkpointed(layer, x)
    out.sum().backward()
    assert len(calls) == 1
    torch.testing.assert_close(out, layer(x))
