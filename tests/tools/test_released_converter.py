"""tools/model_converters/catr_released_to_catravs.py on a released-layout state dict."""
from __future__ import annotations

import importlib.util
import json
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

from catravs.analysis.complexity import strip_pretrained
from catravs.datasets.synthavs import make_synthavs
from catravs.registry import MODELS
from tests.conftest import REPO_ROOT
from tests.tools.test_train_test import run_tool

FIXTURE = osp.join(REPO_ROOT, 'tests', 'fixtures', 'catr_released')
CONVERTER = osp.join(REPO_ROOT, 'tools', 'model_converters', 'catr_released_to_catravs.py')
CONFIG = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_pvt_s4.py')


#: one worker builds the module's fixtures (a 474 MB released state dict, saved once)
pytestmark = pytest.mark.xdist_group('catr_converter')


def released_shapes() -> dict[str, list[int]]:
    with open(osp.join(FIXTURE, 'state_dict_shapes.json')) as f:
        return json.load(f)


def released_state_dict(seed: int) -> dict:
    spec = importlib.util.spec_from_file_location('catr_recipe', osp.join(FIXTURE, 'recipe.py'))
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    return recipe.fill_state_dict(released_shapes(), seed)


@pytest.fixture(scope='module')
def meta_sources(tmp_path_factory):
    """(released state dict, VGGish path) as meta tensors: the released keys and shapes
    without values, for the refusals, which read names and shapes only."""
    vggish = str(tmp_path_factory.mktemp('convert_meta') / 'vggish.pth')
    with torch.device('meta'):
        model = MODELS.build(strip_pretrained(Config.fromfile(CONFIG).model))
    torch.save(model.audio_encoder.state_dict(), vggish)
    return {k: torch.empty(v, device='meta') for k, v in released_shapes().items()}, vggish


@pytest.fixture(scope='module')
def sources(tmp_path_factory):
    """(folder, released SRC path, VGGish path, the model of catr_pvt_s4.py)."""
    folder = tmp_path_factory.mktemp('convert')
    src, vggish = str(folder / 'released.pth'), str(folder / 'vggish.pth')
    torch.save(released_state_dict(seed=1), src)
    model = MODELS.build(strip_pretrained(Config.fromfile(CONFIG).model))
    torch.save(model.audio_encoder.state_dict(), vggish)  # torchvggish naming
    return folder, src, vggish, model


@pytest.fixture(scope='module')
def converted(sources):
    """(DST path, converter stdout, the model of catr_pvt_s4.py)."""
    folder, src, vggish, model = sources
    dst = str(folder / 'catravs.pth')
    proc = run_tool([CONVERTER, src, dst, '--vggish', vggish], cwd=str(folder))
    return dst, proc.stdout, model


def convert_in_process(args: list[str], capsys) -> tuple[int, str]:
    spec = importlib.util.spec_from_file_location('catr_converter', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = module.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize('case', ['missing', 'shape', 'unknown_backbone', 'deep_backbone',
                                  'no_vggish'])
def test_a_checkpoint_that_does_not_fit_is_refused(case, meta_sources, tmp_path, capsys):
    """Exit 1, the key named, nothing written: a missing key or a wrong shape too."""
    state, vggish = meta_sources
    state = dict(state)
    expected = {'missing': 'decoder.query_pos.weight', 'shape': 'obj_queries.weight',
                'unknown_backbone': 'encoder_backbone.mystery.weight',
                'deep_backbone': 'encoder_backbone.block4.7.attn.q.weight',
                'no_vggish': 'audio_encoder.features.0.weight'}[case]
    if case == 'missing':
        del state['obj_queries.weight']
    elif case == 'shape':
        state['obj_queries.weight'] = state['obj_queries.weight'][:, :-1]
    elif case == 'unknown_backbone':
        state[expected] = torch.zeros(3)
    elif case == 'deep_backbone':  # PVT-v2-b5's stage 4 has 3 blocks
        state[expected] = state['encoder_backbone.block4.0.attn.q.weight']
    bad, dst = str(tmp_path / 'bad.pth'), str(tmp_path / 'out.pth')
    torch.save(state, bad)
    code, log = convert_in_process([bad, dst] + ([] if case == 'no_vggish'
                                                 else ['--vggish', vggish]), capsys)
    assert code == 1 and expected in log, log[-2000:]
    assert log.count('nothing written') == 1, log[-2000:]
    if case == 'missing':  # named as the released file would call it too
        assert 'decoder.query_pos.weight (from obj_queries.weight)' in log, log[-2000:]
    if case == 'no_vggish':
        assert '--vggish' in log and 'random' in log
    assert not osp.exists(dst)


@pytest.mark.slow
def test_module_prefix_converts_like_the_bare_state_dict(converted, sources, tmp_path,
                                                         capsys):
    _, src, vggish, _ = sources
    state = torch.load(src, weights_only=True)
    prefixed, dst = str(tmp_path / 'dp.pth'), str(tmp_path / 'out.pth')
    torch.save({f'module.{k}': v for k, v in state.items()}, prefixed)
    code, log = convert_in_process([prefixed, dst, '--vggish', vggish], capsys)
    assert code == 0, log
    got = torch.load(dst, weights_only=True)['state_dict']
    want = torch.load(converted[0], weights_only=True)['state_dict']
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], msg=key)


def test_every_live_key_maps_and_the_model_loads_strictly(converted):
    dst, stdout, model = converted
    state = torch.load(dst, weights_only=True)['state_dict']
    model.load_state_dict(state, strict=True)  # raises on a missing or unexpected key
    released = released_state_dict(seed=1)
    # a value goes where its key says: spot checks across the parts
    torch.testing.assert_close(model.decoder.query_pos.weight, released['obj_queries.weight'])
    torch.testing.assert_close(model.fusion.gate.gate_conv.weight,
                               released['transformer.temporal_encoder.attention_feature.0.weight'])
    torch.testing.assert_close(model.head.pixel_decoder.convs[3][1].weight,
                               released['spatial_decoder.gn4.weight'])
    torch.testing.assert_close(model.neck.levels[3].branches[2].bias,
                               released['conv4.conv2d_list.2.bias'])
    # the report names the dead parameters it dropped
    for reason in ('path1-4', 'stride-4 neck projection', 'Conv2d(5, 15680)',
                   'fusion_module', "last temporal layer's audio update"):
        assert reason in stdout, stdout


def test_unknown_key_is_refused_by_name(tmp_path):
    """The command line (a fresh process), on the released keys as meta tensors."""
    state = {k: torch.empty(v, device='meta') for k, v in released_shapes().items()}
    state['transformer.mystery_block.weight'] = torch.zeros(3)
    src, dst = str(tmp_path / 'bad.pth'), str(tmp_path / 'out.pth')
    torch.save(state, src)
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, CONVERTER, src, dst], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert 'transformer.mystery_block.weight' in proc.stderr
    assert not osp.exists(dst)


@pytest.mark.slow
def test_tools_test_loads_the_converted_checkpoint(converted, tmp_path):
    """tools/test.py catr_pvt_s4.py DST on two generated S4 clips in AVSBench's layout
    (96 x 96 frames and labels, fed at 96 instead of 448: loading and testing do not
    depend on the size)."""
    dst, _, _ = converted
    root = str(tmp_path / 's4')
    make_synthavs(root, 's4', num_train=1, num_val=1, num_test=2, image_size=96)
    os.makedirs(osp.join(root, 's4_data'))
    for name in os.listdir(root):
        if osp.isdir(osp.join(root, name)) and name != 's4_data':
            shutil.move(osp.join(root, name), osp.join(root, 's4_data', name))
    options = [f'test_dataloader.dataset.data_root={root}', 'test_dataloader.num_workers=0',
               'test_dataloader.persistent_workers=False',
               'test_dataloader.dataset.pipeline.3.scale=96']
    proc = run_tool([osp.join(REPO_ROOT, 'tools', 'test.py'), CONFIG, dst,
                     '--work-dir', str(tmp_path / 'work'), '--cfg-options', *options],
                    cwd=str(tmp_path))
    log = proc.stdout + proc.stderr
    assert 'Load checkpoint from' in log
    assert 'missing keys' not in log and 'unexpected key' not in log, log[-3000:]
    assert 'mIoU' in log
