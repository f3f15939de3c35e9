"""A checkpoint that fits half-way is refused by init_model, tools/test.py and
tools/video_demo.py, naming the keys; --allow-partial / strict=False load it on purpose."""
from __future__ import annotations

import os.path as osp

import pytest
import torch

from catravs.apis import init_model
from catravs.engine.strict_loading import CheckpointMismatchError
from tests.conftest import REPO_ROOT
from tests.tools.test_train_test import tiny_options

CONFIG = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')
OPTIONS = {'model.decoder.num_queries': 4}
MISSING = 'fusion.spatial_layers.0.self_attn.attn.in_proj_weight'


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """(model with seeded weights, folder) of the demo config, and its full checkpoint."""
    torch.manual_seed(0)
    model = init_model(CONFIG, cfg_options=OPTIONS)
    for p in model.parameters():
        p.data.normal_()
    return model, tmp_path_factory.mktemp('ckpt')


def save(folder, name: str, state: dict) -> str:
    path = str(folder / name)
    torch.save({'state_dict': state, 'meta': {}}, path)
    return path


def test_full_checkpoint_and_module_prefix_load_strictly(reference):
    model, folder = reference
    state = model.state_dict()
    for name, ckpt in (('full.pth', state),
                       ('ddp.pth', {f'module.{k}': v for k, v in state.items()})):
        loaded = init_model(CONFIG, save(folder, name, ckpt), cfg_options=OPTIONS)
        for key, value in loaded.state_dict().items():
            torch.testing.assert_close(value, state[key], msg=key)


@pytest.mark.parametrize('case', ['missing', 'shape', 'unexpected'])
def test_init_model_refuses_a_checkpoint_that_does_not_fit(reference, case):
    model, folder = reference
    state = dict(model.state_dict())
    if case == 'missing':
        del state[MISSING]
    elif case == 'shape':
        state[MISSING] = state[MISSING][:, :-1]
    else:
        state['fusion.mystery.weight'] = torch.zeros(2)
    path = save(folder, f'{case}.pth', state)
    with pytest.raises(CheckpointMismatchError) as err:
        init_model(CONFIG, path, cfg_options=OPTIONS)
    named = 'fusion.mystery.weight' if case == 'unexpected' else MISSING
    assert named in str(err.value) and path in str(err.value)
    assert 'strict=False' in str(err.value)
    if case != 'shape':  # a wrong shape cannot be loaded at all
        partial = init_model(CONFIG, path, cfg_options=OPTIONS, strict=False)
        key = 'fusion.spatial_layers.0.ffn.net.0.weight'
        torch.testing.assert_close(partial.state_dict()[key], model.state_dict()[key])


@pytest.mark.slow
def test_test_tool_refuses_a_partial_checkpoint_unless_allowed(reference, tmp_path,
                                                             monkeypatch):
    """MMEngine's runner loads load_from with strict=False: tools/test.py must not. The
    refusal runs the tool's ``main()`` in this process (the error that would end it); the
    ``--allow-partial`` run is a real ``tools/test.py`` process."""
    from catravs.datasets.synthavs import make_synthavs
    from tests.tools.test_train_test import run_tool, run_tool_in_process
    model, folder = reference
    state = dict(model.state_dict())
    del state[MISSING]
    path = save(folder, 'partial_for_test_tool.pth', state)
    data = make_synthavs(str(tmp_path / 's4'), 's4', num_train=1, num_val=1, num_test=2,
                         image_size=64)
    args = [osp.join(REPO_ROOT, 'tools', 'test.py'), CONFIG, path, '--work-dir',
            str(tmp_path / 'work'), '--cfg-options', *tiny_options(data)]
    with pytest.raises(CheckpointMismatchError) as refused:
        run_tool_in_process(args[0], args[1:], str(tmp_path), monkeypatch)
    assert MISSING in str(refused.value) and '--allow-partial' in str(refused.value)
    proc = run_tool([*args[:3], '--allow-partial', *args[3:]], cwd=str(tmp_path))
    log = proc.stdout + proc.stderr
    assert 'missing keys in source state_dict' in log and MISSING in log  # MMEngine's warning
    assert 'mIoU' in log
