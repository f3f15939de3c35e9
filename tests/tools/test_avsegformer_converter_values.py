"""tools/model_converters/avsegformer_released_to_catravs.py moves values, not only shapes:
a released-layout ResNet-50 checkpoint whose every tensor holds its own number (a
stride-0 tensor: no memory for the 853 keys) is converted, and the layers' parameters of
equal shape (``norm1``/``norm2``/``norm3``, ``self_attn``/``cross_attn``, ``lateral_conv``/
``out_conv``) land where the released code uses them. The oracle is written by hand from
the released layers' forward: the encoder layer (deformable DETR's) normalises after its
self-attention with ``norm1`` and after its FFN with ``norm2``; the decoder layer and the
query generator's layer after self-attention (``norm1``), cross-attention (``norm2``) and
FFN (``norm3``). ``--config`` names the model the output must load into.
"""
from __future__ import annotations

import json
import os.path as osp

import pytest
import torch

from tests.conftest import REPO_ROOT
from tests.tools.test_avsegformer_converter import FIXTURE, converter

ENC, DEC, GEN = ('head.transformer.encoder.layers.2', 'head.transformer.decoder.layers.4',
                 'head.query_generator.layers.1')
#: released key -> catravs key, from the released layers' forward (see the module doc)
BY_HAND = {
    f'{ENC}.self_attn.value_proj.weight': 'neck.layers.2.self_attn.value_proj.weight',
    f'{ENC}.self_attn.output_proj.weight': 'neck.layers.2.self_attn.output_proj.weight',
    f'{ENC}.norm1.weight': 'neck.layers.2.norm.weight',
    f'{ENC}.norm1.bias': 'neck.layers.2.norm.bias',
    f'{ENC}.norm2.weight': 'neck.layers.2.ffn.norm.weight',
    f'{ENC}.norm2.bias': 'neck.layers.2.ffn.norm.bias',
    f'{ENC}.linear1.weight': 'neck.layers.2.ffn.net.0.weight',
    f'{ENC}.linear2.weight': 'neck.layers.2.ffn.net.3.weight',
    f'{DEC}.self_attn.in_proj_weight': 'decoder.layers.4.self_attn.attn.in_proj_weight',
    f'{DEC}.self_attn.out_proj.weight': 'decoder.layers.4.self_attn.attn.out_proj.weight',
    f'{DEC}.cross_attn.in_proj_weight': 'decoder.layers.4.cross_attn.attn.in_proj_weight',
    f'{DEC}.cross_attn.out_proj.weight': 'decoder.layers.4.cross_attn.attn.out_proj.weight',
    f'{DEC}.norm1.weight': 'decoder.layers.4.self_attn.norm.weight',
    f'{DEC}.norm2.weight': 'decoder.layers.4.cross_attn.norm.weight',
    f'{DEC}.norm3.weight': 'decoder.layers.4.ffn.norm.weight',
    f'{DEC}.norm1.bias': 'decoder.layers.4.self_attn.norm.bias',
    f'{DEC}.norm2.bias': 'decoder.layers.4.cross_attn.norm.bias',
    f'{DEC}.norm3.bias': 'decoder.layers.4.ffn.norm.bias',
    f'{GEN}.self_attn.in_proj_weight':
        'decoder.query_generator.layers.1.self_attn.attn.in_proj_weight',
    f'{GEN}.cross_attn.in_proj_weight':
        'decoder.query_generator.layers.1.cross_attn.attn.in_proj_weight',
    f'{GEN}.norm1.weight': 'decoder.query_generator.layers.1.self_attn.norm.weight',
    f'{GEN}.norm2.weight': 'decoder.query_generator.layers.1.cross_attn.norm.weight',
    f'{GEN}.norm3.weight': 'decoder.query_generator.layers.1.ffn.norm.weight',
    f'{GEN}.ffn.0.weight': 'decoder.query_generator.layers.1.ffn.net.0.weight',
    f'{GEN}.ffn.2.weight': 'decoder.query_generator.layers.1.ffn.net.3.weight',
    'head.lateral_conv.0.weight': 'neck.lateral_conv.0.weight',
    'head.out_conv.0.weight': 'neck.out_conv.0.weight',
    'head.in_proj.3.0.weight': 'neck.in_proj.3.0.weight',
    'head.in_proj.2.0.weight': 'neck.in_proj.2.0.weight',
    'backbone.layer3_1.0.conv2.weight': 'backbone.layer3.0.conv2.weight',
    'backbone.layer4_1.2.bn1.running_mean': 'backbone.layer4.2.bn1.running_mean',
    'backbone.layer4_1.2.bn2.running_mean': 'backbone.layer4.2.bn2.running_mean',
    'vggish.features.0.weight': 'audio_encoder.features.0.weight',
}


def numbered_state_dict(config: str) -> dict[str, torch.Tensor]:
    """Every key of the released layout, tensor ``i`` filled with ``i`` (stride 0)."""
    with open(osp.join(FIXTURE, f'state_dict_shapes_{config}.json')) as f:
        shapes = json.load(f)
    return {k: torch.tensor(float(i)).expand(shape) for i, (k, shape) in
            enumerate(shapes.items())}


def run_converter(tmp_path, state, capsys, *extra: str):
    src, dst = str(tmp_path / 'released.pth'), str(tmp_path / 'catravs.pth')
    torch.save(state, src)
    code = converter.main([src, dst, *extra])
    out = capsys.readouterr()
    return code, out.out, out.err, dst


def test_values_land_where_the_released_layers_use_them(tmp_path, capsys):
    released = numbered_state_dict('s4_r50')
    code, out, err, dst = run_converter(tmp_path, released, capsys)
    assert code == 0, err
    converted = torch.load(dst, weights_only=True)['state_dict']
    owner = {v.reshape(-1)[0].item(): k for k, v in released.items() if v.numel()}
    for old, new in BY_HAND.items():
        assert new in converted, new
        got = converted[new].reshape(-1)[0].item()
        assert converted[new].shape == released[old].shape, new
        assert bool((converted[new] == got).all())
        assert got == released[old].reshape(-1)[0].item(), (
            f'{new} holds the value of {owner.get(got)}, not of {old}')
    # no released value was copied twice (a swap or a duplicate would show here too)
    firsts = [v.reshape(-1)[0].item() for v in converted.values() if v.numel()]
    assert len(firsts) == len(set(firsts))


def test_config_option_names_the_target_model(tmp_path, capsys):
    """``--config`` of the ResNet-50 S4 config loads the ResNet-50 checkpoint; a PVT config
    refuses it, naming the keys its model does not have."""
    state = numbered_state_dict('s4_r50')
    r50 = osp.join(REPO_ROOT, 'configs', 'avsegformer', 'avsegformer_r50_s4.py')
    pvt = osp.join(REPO_ROOT, 'configs', 'avsegformer', 'avsegformer_pvt_s4.py')
    code, out, err, dst = run_converter(tmp_path, state, capsys, '--config', r50)
    assert code == 0, err
    assert 'wrote 668 tensors' in out
    (tmp_path / 'pvt').mkdir()
    code, out, err, dst = run_converter(tmp_path / 'pvt', state, capsys, '--config', pvt)
    assert code == 1, out
    assert 'keys the model does not have: backbone.conv1.weight' in err
    # a missing key is named in both namings: catravs' and the released one it comes from
    assert 'backbone.patch_embed.proj.weight (from backbone.patch_embed1.proj.weight)' in err
    assert err.count('nothing written') == 1 and not osp.exists(dst)  # said once, at the end
    assert err.rstrip().splitlines()[-1] == 'nothing written'


@pytest.mark.parametrize('config', ['avsegformer_pvt_avss.py'])
def test_config_option_with_a_semantic_config(tmp_path, capsys, config):
    """An S4 (one-class) checkpoint into the AVSS (71-class) config: the classifier's
    shape is named."""
    code, out, err, _ = run_converter(
        tmp_path, {k: torch.empty(v, device='meta') for k, v in json.load(
            open(osp.join(FIXTURE, 'state_dict_shapes_s4_pvt.json'))).items()},
        capsys, '--config', osp.join(REPO_ROOT, 'configs', 'avsegformer', config))
    assert code == 1
    assert '1 of another shape: head.fc.4.weight: file (1, 32, 1, 1) vs model ' \
           '(71, 32, 1, 1)' in err, err
