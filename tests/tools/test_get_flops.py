"""Analysis tools: get_flops (parameters and FLOPs per part) and run_ablations' bookkeeping."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
import torch.nn as nn

from catravs.analysis.complexity import (
    MODEL_PARTS,
    analyse_model,
    build_model_for_analysis,
    count_flops,
    count_parameters,
    dummy_inputs,
    format_report,
    strip_pretrained,
)
from tests.conftest import REPO_ROOT, tiny_catr_cfg

TINY_CONFIG = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')


def load_tool(name: str):
    path = osp.join(REPO_ROOT, 'tools', 'analysis_tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_strip_pretrained_removes_only_pretrained_init_cfgs():
    cfg = dict(model=dict(
        backbone=dict(type='X', init_cfg=dict(type='Pretrained', checkpoint='a.pth')),
        neck=dict(type='Y', init_cfg=[dict(type='Pretrained', checkpoint='b.pth'),
                                      dict(type='Normal', std=0.01)]),
        head=dict(type='Z', init_cfg=dict(type='Xavier'))))
    out = strip_pretrained(cfg)
    assert 'init_cfg' not in out['model']['backbone']
    assert out['model']['neck']['init_cfg'] == [dict(type='Normal', std=0.01)]
    assert out['model']['head']['init_cfg'] == dict(type='Xavier')
    assert cfg['model']['backbone']['init_cfg']['type'] == 'Pretrained'  # input untouched


def test_flops_of_known_layers():
    """A linear layer and a convolution: 2 FLOPs per multiply-add; attention counted too."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 4)
            self.conv = nn.Conv2d(3, 6, 3, padding=1)
            self.attn = nn.MultiheadAttention(16, 2, batch_first=True)

        def forward(self, inputs, mode='tensor'):
            x = torch.randn(2, 10, 16)
            self.attn(x, x, x, need_weights=False)
            return self.fc(inputs['vec']), self.conv(inputs['img'])

    net = Net()
    flops = count_flops(net, dict(vec=torch.randn(5, 8), img=torch.randn(1, 3, 7, 7)))
    assert flops['fc'] == 2 * 5 * 8 * 4
    assert flops['conv'] == 2 * 6 * 3 * 9 * 7 * 7
    # projections (q, k, v, out) + scores and weighted sum (2 * 2 * B * L * L * C)
    assert flops['attn'] == 2 * 2 * 10 * 16 * 16 * 4 + 2 * 2 * 2 * 10 * 10 * 16
    assert flops['total'] == flops['fc'] + flops['conv'] + flops['attn'] + flops['other']
    # the counting state is undone: training mode and requires_grad are kept
    assert net.training and all(p.requires_grad for p in net.parameters())


def test_tiny_catr_parts_add_up(make_batch):
    torch.manual_seed(0)
    from catravs.registry import MODELS
    model = MODELS.build(tiny_catr_cfg())
    model.audio_proj.requires_grad_(False)
    params = count_parameters(model)
    assert [p for p in params if p != 'total'][:len(MODEL_PARTS)] == list(MODEL_PARTS)
    assert params['audio_proj'][1] == 0 and params['audio_proj'][0] > 0
    assert params['total'][0] == sum(p.numel() for p in model.parameters())
    assert params['total'][0] == sum(v[0] for k, v in params.items() if k != 'total')
    flops = count_flops(model, dummy_inputs(model, 3, 64, 64))
    for part in ('backbone', 'neck', 'audio_encoder', 'fusion', 'decoder', 'head'):
        assert flops[part] > 0, part
    assert sum(v for k, v in flops.items() if k != 'total') == flops['total']
    assert flops['other'] == 0  # CATR computes everything inside its parts
    # more frames, more FLOPs
    assert count_flops(model, dummy_inputs(model, 5, 64, 64))['total'] > flops['total']


def test_get_flops_tool_on_the_tiny_config(capsys):
    tool = load_tool('get_flops')
    text = tool.main([TINY_CONFIG, '--shape', '2', '64', '64'])
    assert text in capsys.readouterr().out
    for part in (*MODEL_PARTS, 'total'):
        assert f'| {part} ' in text
    assert 'Input: 1 clip x 2 frames x 64 x 64' in text
    # the report of the tool equals the library's
    from mmengine.config import Config
    torch.manual_seed(0)
    model = build_model_for_analysis(Config.fromfile(TINY_CONFIG))
    report = analyse_model(model, 2, 64, 64)
    assert format_report(report, title='catr_tiny_synthavs.py') == text
    assert report.total.params == sum(p.numel() for p in model.parameters())


def test_get_flops_shape_argument():
    tool = load_tool('get_flops')
    from mmengine.config import Config
    cfg = Config.fromfile(TINY_CONFIG)
    assert tool.resolve_shape(cfg, None) == (5, 224, 224)
    assert tool.resolve_shape(cfg, [96]) == (5, 96, 96)
    assert tool.resolve_shape(cfg, [3, 64, 32]) == (3, 64, 32)
    with pytest.raises(ValueError, match='--shape'):
        tool.resolve_shape(cfg, [1, 2, 3, 4])


def test_dummy_audio_follows_the_encoder():
    from catravs.registry import MODELS
    cfg = tiny_catr_cfg(audio_encoder=dict(type='PrecomputedAudioEmbedding', in_channels=128))
    model = MODELS.build(cfg)
    assert dummy_inputs(model, 4, 32, 32)['audio'].shape == (1, 4, 128)
    assert count_flops(model, dummy_inputs(model, 4, 32, 32))['total'] > 0


# ------------------------------------------------------------------ run_ablations
def write_run(work_dir, vals, test=None, stamp='20250101_000000', finished=True):
    """A run as train.py leaves it; ``finished``: run_ablations wrote its run_info.json."""
    run = osp.join(work_dir, stamp)
    import os
    os.makedirs(osp.join(run, 'vis_data'))
    if finished:
        with open(osp.join(work_dir, 'run_info.json'), 'w') as f:
            json.dump(dict(returncode=0, seconds=60), f)
    with open(osp.join(run, 'vis_data', 'scalars.json'), 'w') as f:
        f.write(json.dumps(dict(loss=1.0, step=10)) + '\n')
        for epoch, (miou, fscore) in enumerate(vals, 1):
            f.write(json.dumps({'mIoU': miou, 'F-score': fscore, 'step': epoch}) + '\n')
    if test is not None:
        with open(osp.join(run, f'{stamp}.json'), 'w') as f:
            json.dump({'mIoU': test[0], 'F-score': test[1]}, f)


def test_run_ablations_reads_best_val_and_test(tmp_path):
    tool = load_tool('run_ablations')
    work = str(tmp_path / 'catr_tiny_full')
    write_run(work, [(0.2, 0.3), (0.6, 0.7), (0.5, 0.9)], test=(0.55, 0.65))
    summary = tool.summarise_run(work)
    assert summary['status'] == 'ok'
    assert (summary['best_val'], summary['best_val_f'], summary['best_epoch']) == (0.6, 0.7, 2)
    assert (summary['test'], summary['test_f'], summary['num_val']) == (0.55, 0.65, 3)
    assert tool.summarise_run(str(tmp_path / 'missing'))['status'] == 'no run'


def test_run_ablations_configs_and_readme_table(tmp_path):
    tool = load_tool('run_ablations')
    configs = tool.discover_configs()
    names = [tool.variant_name(c) for c in configs]
    assert names[0] == 'full'
    assert set(names) >= {'full', 'spatial_only', 'temporal_only', 'no_gate', 'visual_only',
                          'cross_attention', 'audio_queries', 'released'}
    assert [tool.variant_name(c) for c in tool.discover_configs(names=['no_gate'])] == [
        'no_gate']
    with pytest.raises(ValueError, match='unknown'):
        tool.discover_configs(names=['nope'])

    readme = tmp_path / 'README.md'
    readme.write_text(f'# x\n\n{tool.MARK_START}\nold\n{tool.MARK_END}\n\ntail\n')
    write_run(str(tmp_path / 'runs' / 'catr_tiny_full'), [(0.4, 0.5)])
    rows = tool.collect(configs[:2], str(tmp_path / 'runs'))
    assert rows[0]['best_val'] == 0.4 and rows[1]['status'] == 'no run'
    table = tool.format_table(rows, tool.table_note(rows))
    tool.update_readme(str(readme), table)
    text = readme.read_text()
    assert 'old' not in text and text.endswith('\n\ntail\n')
    assert '| `full` |' in text and '| 40.0 | 50.0 | 1 |' in text
    assert f'{tool.MARK_START}\n| variant' in text
    readme.write_text('no markers')
    with pytest.raises(ValueError, match='ablations:start'):
        tool.update_readme(str(readme), table)


def test_run_ablations_seeds_mean_std_and_missing_seeds(tmp_path):
    """Per seed: mean ± sample std of the finished seeds; a seed not run yet is counted
    apart from one that failed."""
    tool = load_tool('run_ablations')
    configs = tool.discover_configs(names=['full'])
    root = tmp_path / 'runs' / 'catr_tiny_full'
    write_run(str(root / 'seed1'), [(0.4, 0.5), (0.6, 0.7)], test=(0.5, 0.6))
    write_run(str(root / 'seed2'), [(0.8, 0.9)], test=(0.7, 0.8))
    row = tool.collect(configs, str(tmp_path / 'runs'), seeds=[1, 2, 3])[0]
    assert row['best_val'] == [0.6, 0.8] and row['best_epoch'] == [2, 1]
    assert row['status'] == '2 of 3 seeds'
    line = tool.format_table([row]).splitlines()[2]
    assert '| 70.0 ± 14.1 |' in line and '| 2/1 |' in line and '(2 of 3 seeds)' in line
    # still training (no run_info.json yet): its best val so far stays out of the mean
    write_run(str(root / 'seed3'), [(0.1, 0.2)], finished=False)
    row = tool.collect(configs, str(tmp_path / 'runs'), seeds=[1, 2, 3])[0]
    assert row['status'] == '2 of 3 seeds, 1 unfinished'
    assert row['best_val'] == [0.6, 0.8] and row['seconds'] == 120
    # its train.py exited with an error after one validation
    (root / 'seed3' / 'run_info.json').write_text(json.dumps(dict(returncode=1, seconds=5)))
    row = tool.collect(configs, str(tmp_path / 'runs'), seeds=[1, 2, 3])[0]
    assert row['status'] == '2 of 3 seeds, 1 failed' and row['best_val'] == [0.6, 0.8]


def test_every_ablation_config_builds():
    """Each ablation config loads and builds (no training)."""
    from mmengine.config import Config

    from catravs.registry import MODELS
    tool = load_tool('run_ablations')
    for config in tool.discover_configs():
        cfg = Config.fromfile(config)
        model = MODELS.build(strip_pretrained(cfg.model))
        assert type(model.fusion).__name__ == cfg.model.fusion.type
