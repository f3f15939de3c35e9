"""tools/model_converters/avsegformer_released_to_catravs.py on released-layout state dicts.

Most tests use meta tensors (the released keys and shapes of the fixture, no memory), so a
full 1,413-key checkpoint costs nothing; the round trips with real values are slow.
"""
from __future__ import annotations

import importlib.util
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from catravs.registry import MODELS
from tests.conftest import REPO_ROOT

FIXTURE = osp.join(REPO_ROOT, 'tests', 'fixtures', 'avsegformer_released')
CONVERTER = osp.join(REPO_ROOT, 'tools', 'model_converters', 'avsegformer_released_to_catravs.py')


def load_module(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


converter = load_module('avsegformer_converter', CONVERTER)


def shapes(config: str) -> dict[str, list[int]]:
    with open(osp.join(FIXTURE, f'state_dict_shapes_{config}.json')) as f:
        return json.load(f)


def meta_state_dict(config: str) -> dict[str, torch.Tensor]:
    return {k: torch.empty(v, device='meta') for k, v in shapes(config).items()}


def convert(tmp_path, state, capsys, name='released.pth'):
    """Run the converter on ``state`` saved to a file -> (exit code, stdout, stderr, dst)."""
    src, dst = str(tmp_path / name), str(tmp_path / 'catravs.pth')
    torch.save(state, src)
    code = converter.main([src, dst])
    out = capsys.readouterr()
    return code, out.out, out.err, dst


@pytest.mark.parametrize('config, kept', [('s4_pvt', 1402), ('avss_pvt', 1402),
                                          ('s4_r50', 668)])
def test_full_released_key_set_converts(tmp_path, capsys, config, kept):
    code, out, err, dst = convert(tmp_path, meta_state_dict(config), capsys)
    assert code == 0, err
    assert f'wrote {kept} tensors' in out
    assert 'AVSegHead.fpn' in out and 'AVSegHead.attn_fc' in out
    assert ("B2_ResNet's second branch" in out) == (config == 's4_r50')
    assert osp.isfile(dst)


def test_module_prefix_and_state_dict_wrapper_are_accepted(tmp_path, capsys):
    state = meta_state_dict('s4_r50')
    prefixed = {f'module.{k}': v for k, v in state.items()}
    code, out, err, _ = convert(tmp_path, prefixed, capsys)
    assert code == 0, err
    code, out, err, _ = convert(tmp_path, {'state_dict': state}, capsys, 'wrapped.pth')
    assert code == 0, err
    code, out, err, _ = convert(tmp_path, {'state_dict': prefixed}, capsys, 'both.pth')
    assert code == 0, err


@pytest.mark.parametrize('config, key, named', [
    ('s4_pvt', 'head.transformer.encoder.layers.3.linear1.weight',
     'neck.layers.3.ffn.net.0.weight'),
    ('s4_pvt', 'head.query_generator.layers.0.norm3.bias',
     'decoder.query_generator.layers.0.ffn.norm.bias'),
    ('s4_pvt', 'vggish.embeddings.4.bias', 'audio_encoder.embeddings.4.bias'),
    ('s4_pvt', 'backbone.block2.1.mlp.dwconv.dwconv.weight',
     'backbone.stages.1.blocks.1.mlp.dwconv.weight'),
    ('s4_r50', 'backbone.layer4_1.2.bn3.running_var', 'backbone.layer4.2.bn3.running_var'),
])
def test_a_key_left_out_fails_and_is_named(tmp_path, capsys, config, key, named):
    state = meta_state_dict(config)
    del state[key]
    code, out, err, dst = convert(tmp_path, state, capsys)
    assert code == 1 and not osp.exists(dst)
    assert '1 weights missing' in err and f'{named} (from {key})' in err, err
    assert err.count('nothing written') == 1, err


def test_a_wrong_shape_fails_and_is_named(tmp_path, capsys):
    state = meta_state_dict('s4_pvt')
    state['head.fusion_block.proj.weight'] = torch.empty(256, 128, device='meta')
    code, out, err, dst = convert(tmp_path, state, capsys)
    assert code == 1 and not osp.exists(dst)
    assert ('1 of another shape: fusion.proj.weight: file (256, 128) vs model (256, 256) '
            '(from head.fusion_block.proj.weight)') in err, err
    assert err.count('nothing written') == 1, err


def test_an_unknown_key_fails_and_is_named(tmp_path, capsys):
    state = meta_state_dict('s4_pvt')
    state['head.extra_conv.weight'] = torch.empty(3, device='meta')
    code, out, err, dst = convert(tmp_path, state, capsys)
    assert code == 1 and not osp.exists(dst)
    assert "unknown key 'head.extra_conv.weight'" in err, err


def test_a_pvt_key_in_a_resnet_checkpoint_is_unexpected(tmp_path, capsys):
    state = meta_state_dict('s4_r50')
    state['backbone.norm1.weight'] = torch.empty(64, device='meta')
    code, out, err, dst = convert(tmp_path, state, capsys)
    assert code == 1 and not osp.exists(dst)
    assert ('keys the model does not have: backbone.stages.0.norm.weight '
            '(from backbone.norm1.weight)') in err, err


@pytest.mark.slow
@pytest.mark.parametrize('config, base', [('s4_pvt', 'avsegformer_pvt'),
                                          ('s4_r50', 'avsegformer_r50')])
def test_round_trip_loads_strictly_with_the_released_values(tmp_path, capsys, config, base):
    """The recipe's full released state dict -> OUT -> strict load into the config's
    model; values land where their key says."""
    recipe = load_module('avsegformer_recipe', osp.join(FIXTURE, 'recipe.py'))
    released = recipe.fill_state_dict(shapes(config), 3)
    code, out, err, dst = convert(tmp_path, released, capsys)
    assert code == 0, err
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'models', f'{base}.py')).model
    cfg.backbone.init_cfg = cfg.audio_encoder.init_cfg = None
    model = MODELS.build(cfg)
    model.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    pairs = [(model.decoder.layers[5].cross_attn.attn.in_proj_weight,
              'head.transformer.decoder.layers.5.cross_attn.in_proj_weight'),
             (model.neck.layers[2].self_attn.sampling_offsets.bias,
              'head.transformer.encoder.layers.2.self_attn.sampling_offsets.bias'),
             (model.audio_encoder.features[13].weight, 'vggish.features.13.weight'),
             (model.head.fc[4].weight, 'head.fc.4.weight')]
    if config == 's4_r50':
        pairs += [(model.backbone.layer4[2].bn3.running_var, 'backbone.layer4_1.2.bn3.running_var')]
    else:
        pairs += [(model.backbone.stages[3].blocks[2].mlp.dwconv.weight,
                   'backbone.block4.2.mlp.dwconv.dwconv.weight')]
    for ours, key in pairs:
        torch.testing.assert_close(ours, released[key], msg=key)
