"""tools/model_converters/tpavi_released_to_catravs.py on full-size released-naming state
dicts (every key and shape of a released train.py checkpoint, from the parity fixture)."""
from __future__ import annotations

import importlib.util
import json
import os.path as osp

import pytest
import torch

from catravs.analysis.complexity import strip_pretrained
from catravs.apis import load_config
from catravs.registry import MODELS
from tests.conftest import REPO_ROOT
from tests.tools.test_train_test import run_tool

FIXTURE = osp.join(REPO_ROOT, 'tests', 'fixtures', 'tpavi_released')
CONVERTER = osp.join(REPO_ROOT, 'tools', 'model_converters', 'tpavi_released_to_catravs.py')


def released_state_dict(case: str, seed: int) -> dict:
    spec = importlib.util.spec_from_file_location('tpavi_recipe', osp.join(FIXTURE, 'recipe.py'))
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    with open(osp.join(FIXTURE, f'state_dict_shapes_{case}.json')) as f:
        return recipe.fill_state_dict(json.load(f), seed)


def build(case: str):
    backbone, setting = case.split('_')[1], case.split('_')[0]
    cfg = load_config(osp.join(REPO_ROOT, 'configs', 'tpavi', f'tpavi_{backbone}_{setting}.py'))
    return MODELS.build(strip_pretrained(cfg.model))


def convert_in_process(args: list[str], capsys) -> tuple[int, str]:
    spec = importlib.util.spec_from_file_location('tpavi_converter', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = module.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope='module')
def vggish(tmp_path_factory):
    """A torchvggish-naming file (VGGish's own state dict, random weights)."""
    from catravs.models.audio_encoders import VGGish
    path = str(tmp_path_factory.mktemp('vggish') / 'vggish.pth')
    torch.save(VGGish().state_dict(), path)
    return path


#: about 1.5 GB and 40 s each on 2 shared cores (a full model built and loaded)
@pytest.mark.parametrize('case,keys', [('s4_pvt', 1190), ('avss_r50', 626)])
def test_released_checkpoint_converts_and_loads_strictly(case, keys, vggish, tmp_path):
    released = released_state_dict(case, seed=3)
    assert len(released) == keys
    src, dst = str(tmp_path / 'released.pth'), str(tmp_path / 'catravs.pth')
    torch.save(released, src)
    proc = run_tool([CONVERTER, src, dst, '--vggish', vggish], cwd=str(tmp_path))
    assert 'path4 is called with one input' in proc.stdout
    if case.endswith('r50'):
        assert "B2_ResNet's second branch" in proc.stdout
    state = torch.load(dst, weights_only=True)['state_dict']
    model = build(case)
    model.load_state_dict(state, strict=True)  # raises on a missing or unexpected key
    dead = [k for k in released if k.startswith(('path4.resConfUnit1.', 'resnet.layer3_2.',
                                                 'resnet.layer4_2.'))]
    assert len(dead) == (4 + 174 if case.endswith('r50') else 4)
    assert len([k for k in state if not k.startswith('audio_encoder.')]) == keys - len(dead)
    # a value goes where its key says: spot checks across the parts
    torch.testing.assert_close(model.fusions['2'].theta.weight[..., 0],
                               released['tpavi_b3.theta.weight'][..., 0, 0])
    torch.testing.assert_close(model.fusions['0'].phi.weight,
                               released['tpavi_b1.phi.weight'].flatten(1))
    torch.testing.assert_close(model.fusions['3'].out_bn.running_var,
                               released['tpavi_b4.W_z.1.running_var'])
    torch.testing.assert_close(model.head.steps[1].skip_unit.conv2.weight,
                               released['path2.resConfUnit1.conv2.weight'])
    torch.testing.assert_close(model.head.steps[3].out_unit.conv1.bias,
                               released['path4.resConfUnit2.conv1.bias'])
    torch.testing.assert_close(model.neck.levels[0].branches[3].weight,
                               released['conv1.conv2d_list.3.weight'])
    torch.testing.assert_close(model.head.output_conv[4].weight, released['output_conv.4.weight'])
    if case.endswith('r50'):
        torch.testing.assert_close(model.backbone.layer3[0].conv1.weight,
                                   released['resnet.layer3_1.0.conv1.weight'])
        assert model.fusions['0'].audio_proj.bias is None  # AVSS: no align_channel bias
    else:
        torch.testing.assert_close(model.fusions['1'].audio_proj.bias,
                                   released['tpavi_b2.align_channel.bias'])


@pytest.mark.parametrize('problem', ['missing', 'shape', 'unknown', 'no_vggish'])
def test_a_checkpoint_that_does_not_fit_is_refused(problem, vggish, tmp_path, capsys):
    """Exit 1, the key named in both namings, nothing written."""
    state = released_state_dict('s4_r50', seed=0)
    expected = {'missing': ['tpavi_b2.theta.bias', 'fusions.1.theta.bias'],
                'shape': ['path3.resConfUnit2.conv1.weight', 'head.steps.2.out_unit.conv1.weight'],
                'unknown': ['tpavi_b5.mystery.weight'],
                'no_vggish': ['audio_encoder.features.0.weight']}[problem]
    if problem == 'missing':
        del state['tpavi_b2.theta.bias']
    elif problem == 'shape':
        state['path3.resConfUnit2.conv1.weight'] = state['path3.resConfUnit2.conv1.weight'][:-1]
    elif problem == 'unknown':
        state['tpavi_b5.mystery.weight'] = torch.zeros(3)
    src, dst = str(tmp_path / 'bad.pth'), str(tmp_path / 'out.pth')
    torch.save(state, src)
    code, log = convert_in_process([src, dst] + ([] if problem == 'no_vggish'
                                                 else ['--vggish', vggish]), capsys)
    assert code == 1, log[-2000:]
    assert all(key in log for key in expected), log[-2000:]
    assert 'nothing written' in log
    if problem == 'no_vggish':
        assert '--vggish' in log
    assert not osp.exists(dst)


@pytest.mark.parametrize('case', ['s4_pvt', 's4_r50', 'avss_pvt', 'avss_r50'])
def test_key_table_covers_the_model_and_names_every_key_back(case):
    """Every key of a released checkpoint (the fixture's key list) is dead or maps onto a
    key of the leaf config's model, which gets each of its keys but the audio encoder's
    exactly once, with the shape the table's layout change gives; the inverse derived from
    the rules names every converted key's released key."""
    from catravs.models.segmentors.tpavi_released_keys import TPAVI_RELEASED_KEYS as table
    with open(osp.join(FIXTURE, f'state_dict_shapes_{case}.json')) as f:
        shapes = json.load(f)
    backbone, setting = case.split('_')[1], case.split('_')[0]
    cfg = load_config(osp.join(REPO_ROOT, 'configs', 'tpavi', f'tpavi_{backbone}_{setting}.py'))
    with torch.device('meta'):
        model = MODELS.build(strip_pretrained(cfg.model))
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()
                if not k.startswith('audio_encoder.')}
    released = {k: torch.empty(v, device='meta') for k, v in shapes.items()}
    converted, dropped = table.convert(released)
    assert {k: tuple(v.shape) for k, v in converted.items()} == expected
    assert len(converted) + len(dropped) == len(shapes)
    for key in converted:
        assert table.to_catravs(table.to_released(key)) == key
    assert table.to_released('fusions.1.out_bn.running_mean') == 'tpavi_b2.W_z.1.running_mean'
    assert table.to_released('audio_encoder.features.0.weight') is None
