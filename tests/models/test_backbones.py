"""Tests of the visual backbones: shapes, freezing, and loading the official files.

The pretrained-file tests write random tensors under the OFFICIAL key names
(torchvision's ResNet-50; the original PVT repository's PVT-v2, with the key
list built here from the architecture spec) and check that every tensor of the
built backbone was overwritten with the file's value.
"""
from __future__ import annotations

import hashlib

import pytest
import torch
import torchvision

from catravs.models import build_model_part
from catravs.models.backbones import (
    PVTv2B5Backbone,
    PVTv2Backbone,
    ResNet50Backbone,
    TinyConvBackbone,
    convert_pvt_v2_to_timm,
)
from catravs.models.backbones import pretrained as pretrained_module

STRIDES = (4, 8, 16, 32)


def _check_levels(outs: tuple[torch.Tensor, ...], channels: tuple[int, ...], n: int,
                  size: int) -> None:
    assert len(outs) == 4
    for out, c, s in zip(outs, channels, STRIDES):
        assert out.shape == (n, c, size // s, size // s)
        assert torch.isfinite(out).all()


# ------------------------------------------------------------------ shapes
def test_tiny_conv_backbone_shapes_and_speed() -> None:
    model = build_model_part(dict(type='TinyConvBackbone'), 'visual_backbone')
    assert model.out_channels == (16, 32, 64, 128) and model.strides == STRIDES
    x = torch.randn(10, 3, 64, 64)
    outs = model(x)
    _check_levels(outs, (16, 32, 64, 128), 10, 64)
    sum(o.mean() for o in outs).backward()
    assert all(p.grad is not None for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) < 500_000
    custom = TinyConvBackbone(out_channels=(8, 8, 16, 16), norm_cfg=dict(type='GN', num_groups=4))
    _check_levels(custom(torch.randn(2, 3, 96, 96)), (8, 8, 16, 16), 2, 96)


def test_resnet50_backbone_shapes() -> None:
    model = build_model_part(dict(type='ResNet50Backbone'), 'visual_backbone')
    assert model.out_channels == (256, 512, 1024, 2048) and model.strides == STRIDES
    with torch.no_grad():
        _check_levels(model(torch.randn(1, 3, 64, 64)), model.out_channels, 1, 64)


def test_pvt_v2_b5_backbone_shapes() -> None:
    model = build_model_part(dict(type='PVTv2B5Backbone'), 'visual_backbone')
    assert model.out_channels == (64, 128, 320, 512) and model.strides == STRIDES
    assert len(model.stages[2].blocks) == 40
    model.eval()
    with torch.no_grad():
        _check_levels(model(torch.randn(1, 3, 64, 64)), model.out_channels, 1, 64)


# ------------------------------------------------------------------ freezing
@pytest.mark.parametrize('frozen_stages', [0, 2])
def test_resnet50_frozen_stages_and_norm_eval(frozen_stages: int) -> None:
    model = ResNet50Backbone(frozen_stages=frozen_stages, norm_eval=True)
    model.train()
    frozen = ['conv1.', 'bn1.'] + [f'layer{i}.' for i in range(1, frozen_stages + 1)]
    for name, param in model.named_parameters():
        assert param.requires_grad is not name.startswith(tuple(frozen)), name
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)  # norm_eval
    assert not model.layer1.training if frozen_stages >= 1 else model.layer1.training

    trainable_bn = ResNet50Backbone(frozen_stages=frozen_stages).train()
    assert not trainable_bn.bn1.training and trainable_bn.layer4[0].bn1.training


def test_pvt_and_tiny_frozen_stages() -> None:
    pvt = PVTv2Backbone(arch='b0', frozen_stages=1).train()
    for name, param in pvt.named_parameters():
        frozen = name.startswith(('patch_embed.', 'stages.0.'))
        assert param.requires_grad is not frozen, name
    assert not pvt.stages[0].training and pvt.stages[1].training
    tiny = TinyConvBackbone(frozen_stages=0).train()
    assert not any(p.requires_grad for p in tiny.stem.parameters())
    assert all(p.requires_grad for p in tiny.stages.parameters())
    assert not tiny.stem.training


def test_with_cp_gives_the_same_gradients() -> None:
    torch.manual_seed(0)
    plain = ResNet50Backbone(frozen_stages=1)
    ckpt = ResNet50Backbone(frozen_stages=1, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    for model in (plain, ckpt):
        model.train()
        sum(o.sum() for o in model(x)).backward()
    grad_a = plain.layer3[0].conv2.weight.grad
    grad_b = ckpt.layer3[0].conv2.weight.grad
    assert grad_a is not None and torch.allclose(grad_a, grad_b, atol=1e-5)


def _outputs_and_grads(model: torch.nn.Module, x: torch.Tensor):
    torch.manual_seed(1)  # the same drop-path draws in both runs
    outs = model(x)
    sum((o * (i + 1)).square().mean() for i, o in enumerate(outs)).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return [o.detach() for o in outs], grads


@pytest.mark.parametrize('make', [
    lambda cp: PVTv2Backbone(arch='b0', drop_path_rate=0.1, frozen_stages=0, with_cp=cp,
                             recompute_mlp=False),
    lambda cp: ResNet50Backbone(frozen_stages=1, with_cp=cp),
], ids=['pvt_v2_b0', 'resnet50'])
def test_with_cp_same_outputs_and_all_gradients(make, monkeypatch) -> None:
    """Activation checkpointing changes neither the outputs nor any gradient, and it
    checkpoints only when training with gradients."""
    torch.manual_seed(0)
    plain, ckpt = make(False), make(True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    calls = []
    original = torch.utils.checkpoint.checkpoint
    monkeypatch.setattr(torch.utils.checkpoint, 'checkpoint',
                        lambda *a, **k: calls.append(k) or original(*a, **k))
    plain.train(), ckpt.train()
    outs_a, grads_a = _outputs_and_grads(plain, x)
    assert not calls
    outs_b, grads_b = _outputs_and_grads(ckpt, x)
    assert calls and all(k == {'use_reentrant': False} for k in calls)
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert grads_a.keys() == grads_b.keys() and len(grads_a) > 10
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-4, atol=1e-6,
                                   msg=lambda m, n=name: f'{n}: {m}')
    calls.clear()
    with torch.no_grad():
        ckpt(x)
    ckpt.eval()
    ckpt(x)
    assert not calls


def _hidden_bytes_kept(model: torch.nn.Module, x: torch.Tensor, widths: set[int]) -> int:
    """Bytes of the activations autograd keeps for backward whose channel width is one of
    the feed-forward layers' hidden widths (token-major ``[.., C]`` or channel-major ``[N,
    C, H, W]``), counting each storage once and no parameter (nor a view of one)."""
    storages: dict[int, int] = {}
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.untyped_storage().data_ptr() not in params and (
                t.shape[-1] in widths or (t.dim() == 4 and t.shape[1] in widths)):
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        sum(o.sum() for o in model(x)).backward()
    return sum(storages.values())


def test_recompute_mlp_is_bit_identical_and_keeps_one_hidden_tensor() -> None:
    """``recompute_mlp`` (the default) gives timm's outputs and gradients bit for bit with the
    same state-dict keys; the backward pass keeps one hidden-width tensor per feed-forward
    layer instead of three and reruns the depthwise convolution instead."""
    torch.manual_seed(0)
    plain = PVTv2Backbone(arch='b0', drop_path_rate=0.1, recompute_mlp=False).train()
    lean = PVTv2Backbone(arch='b0', drop_path_rate=0.1).train()
    assert list(lean.state_dict()) == list(plain.state_dict())
    lean.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    outs_a, grads_a = _outputs_and_grads(plain, x)
    outs_b, grads_b = _outputs_and_grads(lean, x)
    assert all(torch.equal(a, b) for a, b in zip(outs_a, outs_b))
    assert grads_a.keys() == grads_b.keys() and len(grads_a) > 100
    assert all(torch.equal(grads_a[k], grads_b[k]) for k in grads_a), \
        [k for k in grads_a if not torch.equal(grads_a[k], grads_b[k])]

    blocks = [b for stage in plain.stages for b in stage.blocks]
    widths = {b.mlp.fc1.out_features for b in blocks}  # b0: 256, 512, 640, 1024
    hidden = sum(2 * (64 // s) ** 2 * b.mlp.fc1.out_features * 4  # N * H*W * width * 4 bytes
                 for stage, s in zip(plain.stages, STRIDES) for b in stage.blocks)
    kept_plain = _hidden_bytes_kept(plain, x, widths)
    kept_lean = _hidden_bytes_kept(lean, x, widths)
    assert kept_plain >= 3 * hidden  # conv input, GELU input, fc2 input
    assert kept_lean <= kept_plain - 2 * hidden

    runs = []
    for block in (b for stage in lean.stages for b in stage.blocks):
        block.mlp.dwconv.register_forward_hook(lambda *_: runs.append(1))
    sum(o.sum() for o in lean(x)).backward()
    assert len(runs) == 2 * len(blocks)  # forward, and again in backward
    runs.clear()
    with torch.no_grad():
        lean(x)
    lean.eval()
    lean(x)
    assert len(runs) == 2 * len(blocks)  # once per pass: nothing recomputed


# ------------------------------------------------------------------ official files
def pvt_v2_original_shapes(depths: tuple[int, ...], dims: tuple[int, ...],
                           sr_ratios: tuple[int, ...], mlp_ratios: tuple[int, ...],
                           num_classes: int = 1000) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a checkpoint of the original PVT repository (whai362/PVT)."""
    shapes: dict[str, tuple[int, ...]] = {}
    in_ch = 3
    for i, (depth, d, sr, ratio) in enumerate(zip(depths, dims, sr_ratios, mlp_ratios)):
        s, k, h = i + 1, (7 if i == 0 else 3), d * ratio
        shapes.update({f'patch_embed{s}.proj.weight': (d, in_ch, k, k),
                       f'patch_embed{s}.proj.bias': (d,),
                       f'patch_embed{s}.norm.weight': (d,), f'patch_embed{s}.norm.bias': (d,)})
        for j in range(depth):
            p = f'block{s}.{j}.'
            shapes.update({p + 'norm1.weight': (d,), p + 'norm1.bias': (d,),
                           p + 'attn.q.weight': (d, d), p + 'attn.q.bias': (d,),
                           p + 'attn.kv.weight': (2 * d, d), p + 'attn.kv.bias': (2 * d,),
                           p + 'attn.proj.weight': (d, d), p + 'attn.proj.bias': (d,)})
            if sr > 1:
                shapes.update({p + 'attn.sr.weight': (d, d, sr, sr), p + 'attn.sr.bias': (d,),
                               p + 'attn.norm.weight': (d,), p + 'attn.norm.bias': (d,)})
            shapes.update({p + 'norm2.weight': (d,), p + 'norm2.bias': (d,),
                           p + 'mlp.fc1.weight': (h, d), p + 'mlp.fc1.bias': (h,),
                           p + 'mlp.dwconv.dwconv.weight': (h, 1, 3, 3),
                           p + 'mlp.dwconv.dwconv.bias': (h,),
                           p + 'mlp.fc2.weight': (d, h), p + 'mlp.fc2.bias': (d,)})
        shapes.update({f'norm{s}.weight': (d,), f'norm{s}.bias': (d,)})
        in_ch = d
    shapes.update({'head.weight': (num_classes, dims[-1]), 'head.bias': (num_classes,)})
    return shapes


def _random_state(shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return {k: torch.randn(shape, generator=gen) for k, shape in shapes.items()}


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha1(t.detach().contiguous().numpy().tobytes()).hexdigest()


def _assert_all_overwritten(model: torch.nn.Module, file_state: dict[str, torch.Tensor],
                            unused: set[str]) -> None:
    """Every model tensor equals exactly one file tensor, every used file tensor is loaded."""
    by_content = {_digest(v): k for k, v in file_state.items()}
    assert len(by_content) == len(file_state)  # random tensors are distinct
    used = set()
    for name, tensor in model.state_dict().items():
        if name.endswith('num_batches_tracked'):
            continue
        source = by_content.get(_digest(tensor))
        assert source is not None, f'{name} was not loaded from the file'
        assert source not in used, f'{source} loaded twice'
        used.add(source)
    assert used == set(file_state) - unused


def _capture_log(monkeypatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(pretrained_module, 'print_log', lambda msg, **kw: lines.append(msg))
    return lines


def test_resnet50_loads_torchvision_file(tmp_path, monkeypatch) -> None:
    # torchvision naming; resnet50-19c8e357.pth predates num_batches_tracked.
    shapes = {k: tuple(v.shape) for k, v in torchvision.models.resnet50().state_dict().items()
              if not k.endswith('num_batches_tracked')}
    assert {'conv1.weight', 'bn1.running_var', 'layer1.0.downsample.0.weight',
            'layer4.2.conv3.weight', 'fc.weight'} <= set(shapes)
    state = _random_state(shapes)
    path = tmp_path / 'resnet50-19c8e357.pth'
    torch.save(state, path)
    lines = _capture_log(monkeypatch)
    model = ResNet50Backbone(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    _assert_all_overwritten(model, state, unused={'fc.weight', 'fc.bias'})
    assert torch.equal(model.layer2[0].downsample[0].weight, state['layer2.0.downsample.0.weight'])
    assert len(lines) == 1 and 'missing keys: none' in lines[0]
    assert 'unexpected keys: none' in lines[0] and 'fc.weight, fc.bias' in lines[0]
    assert 'classifier head' in lines[0]


def _pvt_file_test(model_cls, kwargs: dict, spec: dict, tmp_path, monkeypatch) -> None:
    shapes = pvt_v2_original_shapes(**spec)
    state = _random_state(shapes)
    path = tmp_path / 'pvt_v2.pth'
    torch.save(state, path)
    lines = _capture_log(monkeypatch)
    model = model_cls(**kwargs, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    _assert_all_overwritten(model, state, unused={'head.weight', 'head.bias'})
    last = len(spec['depths']) - 1
    assert torch.equal(model.stages[2].blocks[1].mlp.dwconv.weight,
                       state['block3.1.mlp.dwconv.dwconv.weight'])
    assert torch.equal(model.stages[1].downsample.proj.weight, state['patch_embed2.proj.weight'])
    assert torch.equal(model.stages[last].norm.bias, state[f'norm{last + 1}.bias'])
    assert torch.equal(model.patch_embed.norm.weight, state['patch_embed1.norm.weight'])
    assert len(lines) == 1 and 'missing keys: none' in lines[0]
    assert 'unexpected keys: none' in lines[0] and 'head.weight, head.bias' in lines[0]


def test_pvt_v2_b0_loads_original_file(tmp_path, monkeypatch) -> None:
    spec = dict(depths=(2, 2, 2, 2), dims=(32, 64, 160, 256), sr_ratios=(8, 4, 2, 1),
                mlp_ratios=(8, 8, 4, 4))
    _pvt_file_test(PVTv2Backbone, dict(arch='b0'), spec, tmp_path, monkeypatch)


@pytest.mark.slow
def test_pvt_v2_b5_loads_original_file(tmp_path, monkeypatch) -> None:
    spec = dict(depths=(3, 6, 40, 3), dims=(64, 128, 320, 512), sr_ratios=(8, 4, 2, 1),
                mlp_ratios=(4, 4, 4, 4))
    _pvt_file_test(PVTv2B5Backbone, {}, spec, tmp_path, monkeypatch)


def test_pvt_v2_b5_key_conversion_covers_the_model() -> None:
    """Fast check on names only: original b5 keys map onto exactly the model's keys."""
    spec = dict(depths=(3, 6, 40, 3), dims=(64, 128, 320, 512), sr_ratios=(8, 4, 2, 1),
                mlp_ratios=(4, 4, 4, 4))
    shapes = pvt_v2_original_shapes(**spec)
    with torch.device('meta'):  # names and shapes only: skip the weight init
        model = PVTv2B5Backbone()
    model_shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    converted = convert_pvt_v2_to_timm({k: torch.empty(0) for k in shapes})
    back = dict(zip(converted, shapes.values()))
    assert set(back) - set(model_shapes) == {'head.weight', 'head.bias'}
    assert set(model_shapes) <= set(back)
    assert all(back[k] == model_shapes[k] for k in model_shapes)
    # timm-named files pass through unchanged
    assert convert_pvt_v2_to_timm(dict.fromkeys(model_shapes)).keys() == model_shapes.keys()


def test_wrong_variant_file_raises(tmp_path) -> None:
    spec = dict(depths=(2, 2, 2, 2), dims=(64, 128, 320, 512), sr_ratios=(8, 4, 2, 1),
                mlp_ratios=(8, 8, 4, 4))  # pvt_v2_b1 naming, loaded into b0
    path = tmp_path / 'pvt_v2_b1.pth'
    torch.save(_random_state(pvt_v2_original_shapes(**spec)), path)
    model = PVTv2Backbone(arch='b0', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(ValueError, match='shape mismatch'):
        model.init_weights()


def test_pretrained_prefix_and_wrappers(tmp_path, monkeypatch) -> None:
    """A full catravs checkpoint: weights nested under 'state_dict', 'backbone.' prefix."""
    source = TinyConvBackbone()
    for p in source.parameters():
        torch.nn.init.normal_(p)
    wrapped = {'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()},
               'meta': {'epoch': 3}}
    wrapped['state_dict']['neck.proj.weight'] = torch.zeros(1)
    path = tmp_path / 'catr.pth'
    torch.save(wrapped, path)
    lines = _capture_log(monkeypatch)
    model = TinyConvBackbone(init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                           prefix='backbone.'))
    model.init_weights()
    for name, tensor in source.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    assert 'missing keys: none' in lines[0] and 'unexpected keys: none' in lines[0]
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        pretrained_module.load_state_dict_file(tmp_path / 'nope.pth')
    with pytest.raises(KeyError, match='head.'):
        TinyConvBackbone().load_pretrained(path, prefix='head.')


def test_other_init_cfgs_still_run(tmp_path) -> None:
    source = TinyConvBackbone()
    path = tmp_path / 'tiny.pth'
    torch.save(source.state_dict(), path)
    model = TinyConvBackbone(init_cfg=[dict(type='Constant', val=0.5, layer='Conv2d'),
                                       dict(type='Pretrained', checkpoint=str(path))])
    model.init_weights()  # Pretrained wins over Constant, as in mmengine
    assert torch.equal(model.stem.conv.weight, source.stem.conv.weight)
    # (ConvModule re-initialises its own conv, so check the pass-through on ResNet-50.)
    model = ResNet50Backbone(init_cfg=dict(type='Constant', val=0.5, layer='Conv2d'))
    model.init_weights()
    assert torch.all(model.layer3[1].conv2.weight == 0.5)


def test_pvt_v2_to_timm_tool(tmp_path, monkeypatch) -> None:
    import importlib.util
    import os.path as osp
    folder = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'model_converters')
    tool = osp.join(folder, 'pvt_v2_to_timm.py')
    # as `python tools/model_converters/pvt_v2_to_timm.py` does: the script's folder is
    # sys.path[0], so it imports its sibling convert_pretrained
    monkeypatch.syspath_prepend(folder)
    spec = importlib.util.spec_from_file_location('pvt_v2_to_timm', tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shapes = pvt_v2_original_shapes((2, 2, 2, 2), (32, 64, 160, 256), (8, 4, 2, 1), (8, 8, 4, 4))
    state = _random_state(shapes)
    src, dst = tmp_path / 'pvt_v2_b0.pth', tmp_path / 'out' / 'pvt_v2_b0_timm.pth'
    torch.save(state, src)
    assert module.main([str(src), str(dst), '--arch', 'b0']) == 0
    converted = torch.load(dst, weights_only=True)
    assert 'head.weight' not in converted and len(converted) == len(state) - 2
    assert torch.equal(converted['stages.3.blocks.1.mlp.dwconv.weight'],
                       state['block4.1.mlp.dwconv.dwconv.weight'])
    model = PVTv2Backbone(arch='b0', init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    _assert_all_overwritten(model, state, unused={'head.weight', 'head.bias'})
    assert module.main([str(src), str(tmp_path / 'bad.pth')]) == 1  # b0 file, b5 model
    assert not (tmp_path / 'bad.pth').exists()


def test_missing_and_unexpected_keys_are_named(tmp_path, monkeypatch) -> None:
    state = TinyConvBackbone().state_dict()
    del state['stages.3.1.conv.weight']
    state['extra.weight'] = torch.zeros(2)
    path = tmp_path / 'partial.pth'
    torch.save(state, path)
    lines = _capture_log(monkeypatch)
    report = TinyConvBackbone().load_pretrained(path)
    assert report.missing == ['stages.3.1.conv.weight'] and report.unexpected == ['extra.weight']
    assert 'missing keys: stages.3.1.conv.weight' in lines[0]
    assert 'unexpected keys: extra.weight' in lines[0]
