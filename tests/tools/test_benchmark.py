"""Smoke tests of tools/analysis_tools/benchmark.py on the tiny demo config (no timing asserted)."""
import importlib.util
import json
import os.path as osp
import re
import sys

import pytest
import torch

from catravs.analysis import bench_compare, benchmarking
from tests.conftest import REPO_ROOT

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark.py')
TINY = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')
SMALL = ['--shape', '2', '32', '32', '--steps', '1', '--warmup', '1', '--device', 'cpu',
         '--threads', '1']


def load_tool():
    spec = importlib.util.spec_from_file_location('_tool_benchmark', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(*args: str) -> str:
    """The tool's printed text, run in this process (workers are subprocesses)."""
    threads = torch.get_num_threads()
    try:
        return load_tool().main([TINY, *args])
    finally:
        torch.set_num_threads(threads)


def test_train_step_table_and_json(tmp_path) -> None:
    out = run_tool(*SMALL, '--json-out', str(tmp_path / 'r.json'))
    assert 'torch: ' + torch.__version__ in out and 'cpu: ' in out
    # step s (median), first step s, clips/s, peak memory
    assert re.search(r'\| ours +\| 1x2x32x32 +\| float32 +(\| [0-9.e-]+ +){3}\| [0-9.]+ GiB',
                     out), out
    result = json.load(open(tmp_path / 'r.json'))['result']
    assert result['task'] == 'train' and len(result['times']) == 1 and result['peak_bytes'] > 0
    assert result['first_step_s'] > 0


FAKE_RELEASED_CATR = {  # the released CATR code's interface, in miniature (no code of its own)
    'model/__init__.py': """
from .PVT_AVSModel import build


def build_model(args):
    return build(args)
""",
    'model/PVT_AVSModel.py': """
import torch
import torch.nn as nn
import torch.nn.functional as F


class Pred_endecoder(nn.Module):
    def __init__(self, channel=256, config=None, **kwargs):
        super().__init__()
        assert kwargs['dim_feedforward'] == 2048 and kwargs['num_decoder_layers'] == 3
        self.conv = nn.Conv2d(3, 1, 3, padding=1)
        self.cls = nn.Linear(1, 2)
        if self.training:
            self.initialize_pvt_weights(**kwargs)

    def initialize_pvt_weights(self, **kwargs):
        raise FileNotFoundError('no pretrained PVT here')

    def forward(self, video_samples, audio_pad, x, audio_feature=None):
        video_samples.tensors = video_samples.tensors.cuda()  # as the released code does
        t, b = video_samples.tensors.shape[:2]
        assert audio_feature.shape == (t * b, 128) and not audio_pad.any()
        masks = self.conv(x)  # [T*B, Q=1, H, W]
        classes = self.cls(masks.mean((2, 3)))
        return {'pred_masks': masks.reshape(t, b, 1, *masks.shape[-2:]),
                'pred_is_referred': classes.reshape(t, b, 1, 2), 'aux_outputs': []}


class Criterion(nn.Module):
    weight_dict = {'loss_mask': 1.0}

    def forward(self, outputs, targets):
        assert outputs['pred_masks'].shape[0] == 1  # frame 1 only
        target = targets[0][0]['masks'].float()
        return {'loss_mask': F.binary_cross_entropy_with_logits(
            outputs['pred_masks'][0, 0, 0], target[0])}


def build(args):
    return Criterion().cuda(), None
""",
    'misc.py': """
import types

import torch


def nested_tensor_from_videos_list(videos):
    tensors = torch.stack(videos).transpose(0, 1)  # [T, B, C, H, W]
    return types.SimpleNamespace(tensors=tensors, mask=torch.zeros(tensors.shape[:2]))
""",
}
FAKE_RELEASED_TPAVI = {  # avs_scripts/avs_s4's interface (model/PVT_AVSModel.py, loss.py)
    'model/__init__.py': '',
    'model/PVT_AVSModel.py': """
import torch
import torch.nn as nn


class Pred_endecoder(nn.Module):
    def __init__(self, channel=256, config=None, vis_dim=(64, 128, 320, 512), tpavi_stages=(),
                 tpavi_vv_flag=False, tpavi_va_flag=True):
        super().__init__()
        assert list(tpavi_stages) == [0, 1, 2, 3] and tpavi_va_flag and not tpavi_vv_flag
        self.conv = nn.Conv2d(3, 1, 3, padding=1)
        self.align = nn.Linear(128, channel)
        if self.training:
            self.initialize_pvt_weights()

    def initialize_pvt_weights(self):
        raise FileNotFoundError('no pretrained PVT here')

    def forward(self, x, audio_feature=None):
        assert x.shape[0] % 5 == 0 and audio_feature.shape == (x.shape[0], 128)
        pred = self.conv(x) + torch.zeros(1).cuda()  # as the released code does
        a = self.align(audio_feature).view(-1, 5, self.align.out_features)
        return pred, [pred] * 4, [a] * 4
""",
    'torchvggish/__init__.py': '',
    'torchvggish/vggish.py': """
import resampy  # noqa: F401  (the released file imports it for wav input)
import torch.nn as nn


class VGGish(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        if cfg.TRAIN.FREEZE_AUDIO_EXTRACTOR:
            raise FileNotFoundError('no pretrained VGGish here')
        assert not cfg.TRAIN.PREPROCESS_AUDIO_TO_LOG_MEL
        self.fc = nn.Linear(96 * 64, 128)

    def forward(self, x):
        assert x.shape[1:] == (1, 96, 64)
        return self.fc(x.flatten(1)).relu()
""",
    'loss.py': """
import torch
import torch.nn as nn


def IouSemanticAwareLoss(pred_masks, first_gt_mask, a_fea_list, v_map_list, lambda_1=0,
                         count_stages=[], sa_loss_flag=False, mask_pooling_type='avg'):
    assert not sa_loss_flag and first_gt_mask.dim() == 5
    first = torch.sigmoid(pred_masks)[torch.arange(0, len(pred_masks), 5).cuda()]
    loss = nn.BCELoss()(first, first_gt_mask.squeeze(1))
    return loss, {'iou_loss': loss.item()}
""",
}
FAKE_RELEASED = {'catr': FAKE_RELEASED_CATR, 'tpavi': FAKE_RELEASED_TPAVI}


def test_compare_reference_with_the_released_code(tmp_path, monkeypatch) -> None:
    """Three fresh processes (released code, reference path, ours); the released one is a
    miniature of the released code's interface that calls ``.cuda()`` and a pretrained
    loader, as the released code does; its loss moves from step to step (Adam steps).
    ``--huge-pages``: ours runs with large tensors on huge pages, the other two in the
    caller's environment (here: without)."""
    write_fake_released(tmp_path / 'CATR')
    monkeypatch.delenv('THP_MEM_ALLOC_ENABLE', raising=False)
    out = run_tool(*SMALL, '--compare-reference', '--mem-limit-gb', '16', '--huge-pages',
                   '--released-root', str(tmp_path / 'CATR'),
                   '--json-out', str(tmp_path / 'r.json'))
    lines = out.strip().splitlines()
    assert re.fullmatch(r'speedup [0-9.]+x memory [0-9.]+x', lines[-2]), lines[-2]
    assert re.fullmatch(r'released code against ours: speedup [0-9.]+x memory [0-9.]+x',
                        lines[-1]), lines[-1]
    for path in ('released', 'reference', 'ours'):
        assert any(line.startswith(f'| {path} ') for line in lines), path
    assert _row(out, 'reference')[2] == _row(out, 'ours')[2] == 'float32'
    result = json.load(open(tmp_path / 'r.json'))['result']
    if osp.exists('/sys/kernel/mm/transparent_hugepage/enabled'):
        assert {path: result[path]['machine']['thp_mem_alloc'] for path in result} == dict(
            released='off', reference='off', ours='on')
        assert [('huge pages' in _row(out, path)[-1]) for path in result] == [
            path == 'ours' for path in result]
    released = result['released']
    assert released['shape'] == [2, 32, 32] and len(released['losses']) == 2
    assert released['losses'][0] != released['losses'][1]
    with pytest.raises(SystemExit, match='one clip'):
        run_tool(*SMALL, '--compare-reference', '--released-root', str(tmp_path), '--amp')


def test_the_reference_path_runs_the_released_layout_and_attention() -> None:
    from catravs.apis import load_config
    for path, want in (('reference', False), ('ours', True)):
        cfg = load_config(osp.join(REPO_ROOT, 'configs', 'catr', 'catr_r50_s4.py'), None)
        model_cfg = benchmarking.prepare_model_cfg(cfg.model.to_dict(), path)
        assert model_cfg['channels_last'] is want, path
        assert (model_cfg['attn_impl'] == 'reference') is (path == 'reference')
    for method in ('catr', 'tpavi'):  # the PVT-v2 feed-forward recomputation: ours only
        cfg = load_config(osp.join(REPO_ROOT, 'configs', method, f'{method}_pvt_s4.py'), None)
        assert benchmarking.prepare_model_cfg(cfg.model.to_dict(), 'reference')[
            'backbone']['recompute_mlp'] is False
        assert 'recompute_mlp' not in benchmarking.prepare_model_cfg(
            cfg.model.to_dict(), 'ours')['backbone']  # the backbone's default: on


@pytest.mark.parametrize('method', ['catr', 'avsegformer', 'tpavi'])
def test_the_reference_path_switches_every_part_that_computes_two_ways(method) -> None:
    """build_model('reference'): every attention layer, FFN and TPAVI block computes as the
    released code; 'ours': none does."""
    from mmengine.config import Config

    from catravs.models.fusions.tpavi_block import TPAVIBlock
    from catravs.models.utils import MultiheadAttention
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', method, f'{method}_tiny_synthavs.py'))
    kinds = (MultiheadAttention, TPAVIBlock)
    for path in ('reference', 'ours'):
        model, _ = benchmarking.build_model(
            benchmarking.prepare_model_cfg(cfg.model.to_dict(), path), path, 'cpu')
        impls = [m.impl for m in model.modules() if isinstance(m, kinds)]
        assert impls, method
        assert all((impl == 'reference') is (path == 'reference') for impl in impls), path


def test_channels_last_row_names_the_flag_once() -> None:
    row = next(line for line in run_tool(*SMALL, '--channels-last').splitlines()
               if line.startswith('| ours '))
    assert row.count('channels_last') == 1, row


def write_fake_released(root, method: str = 'catr') -> None:
    for name, text in FAKE_RELEASED[method].items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def load_released_step_tool():
    spec = importlib.util.spec_from_file_location(
        '_tool_released', osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'released_step.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.mark.parametrize('method,frames', [('catr', 2), ('tpavi', 5)])
def test_released_step_tool_alone_measures_in_a_process_of_its_own(tmp_path, method,
                                                                   frames) -> None:
    """The tool on its own: its measuring process finds the released folder through
    PYTHONPATH, and this process imports none of it (no ``model`` module, no patched
    ``Tensor.cuda``)."""
    write_fake_released(tmp_path / 'released', method)
    tool = load_released_step_tool()
    cuda, path = torch.Tensor.cuda, list(sys.path)
    text = tool.main(['--method', method, '--released-root', str(tmp_path / 'released'),
                      '--shape', str(frames), '32', '32', '--steps', '2', '--warmup', '0',
                      '--threads', '1', '--json-out', str(tmp_path / 'r.json')])
    assert text.startswith(f'released {method.upper()} (')
    assert re.search(rf'1x{frames}x32x32, cpu: [0-9.]+ s/step \(median of 2\)', text), text
    result = json.load(open(tmp_path / 'r.json'))['result']
    assert result['method'] == method and len(result['losses']) == 2
    assert result['losses'][0] != result['losses'][1]  # Adam stepped
    assert 'model' not in sys.modules and torch.Tensor.cuda is cuda and sys.path == path


@pytest.mark.parametrize('method', ['catr', 'tpavi'])
def test_released_import_names_the_folder_when_it_is_not_on_the_path(tmp_path,
                                                                      method) -> None:
    from catravs.analysis.released_step import method_module
    with pytest.raises(ImportError, match=re.escape(str(tmp_path.resolve()))):
        method_module(method).import_released(str(tmp_path))


def test_released_tpavi_step_refuses_frames_that_do_not_group_by_five() -> None:
    from catravs.analysis.released_tpavi_step import released_train_step
    with pytest.raises(ValueError, match='groups 5 frames; got T = 4'):
        released_train_step(None, 4, 32, 'cpu')


def test_benchmark_picks_the_released_step_of_the_config_method() -> None:
    """``--released-root`` runs the released step of the config's method, and names the
    model type that has none."""
    tool = load_tool()
    args = tool.parse_args([TINY, '--compare-reference', '--released-root', 'R', '--steps',
                            '2', '--warmup', '1'])
    argv = tool.released_argv(args, 'TPAVI', 'cpu', (5, 64, 64))
    assert argv[:4] == ['--method', 'tpavi', '--released-root', 'R']
    assert tool.released_argv(args, 'CATR', 'cpu', (5, 64, 64))[1] == 'catr'
    with pytest.raises(SystemExit, match="'AVSegFormer'"):
        tool.released_argv(args, 'AVSegFormer', 'cpu', (5, 64, 64))


def test_worker_over_memory_limit_is_reported() -> None:
    result = bench_compare.run_worker(TOOL, [TINY, *SMALL, '--path', 'reference'],
                                      mem_limit_gb=0.05)
    assert result['over_limit'] and result['limit_gb'] == 0.05
    line = bench_compare.summary_line(dict(result, path='reference'),
                                      dict(peak_bytes=2 ** 29, step_s=1.0))
    assert line == 'speedup n/a memory <10.00x'


def test_inference_in_process(capsys) -> None:
    from mmengine.config import Config
    cfg = Config.fromfile(TINY)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = benchmarking.measure_model(cfg, 'test', 'cpu', 2, (2, 32, 32), 1, 0)
    finally:
        torch.set_num_threads(threads)
    assert result['frames_per_s'] == pytest.approx(2 * result['clips_per_s'])


def test_synthetic_batch_semantic_labels() -> None:
    model = torch.nn.Module()
    batch = benchmarking.synthetic_batch(model, 2, 3, 16, 16, 'semantic', 5, annotated='first')
    gt = batch['data_samples'][0].gt_masks
    assert gt.shape == (3, 16, 16) and (gt[1:] == 255).all()
    assert set(gt[0].unique().tolist()) <= set(range(5)) and gt[0].max() > 0
    assert batch['inputs']['frames'][0].dtype == torch.uint8
    assert batch['inputs']['audio'][0].shape == (3, 1, 96, 64)


def test_pool_runs_and_summary() -> None:
    runs = [dict(times=[1.0, 3.0], clips=1, shape=[2, 8, 8], step_s=2.0, peak_bytes=10),
            dict(times=[2.0], clips=1, shape=[2, 8, 8], step_s=2.0, peak_bytes=30)]
    pooled = bench_compare.pool_runs(runs)
    assert pooled['step_s'] == 2.0 and pooled['peak_bytes'] == 30 and pooled['runs'] == 2
    ours = dict(step_s=0.5, peak_bytes=15)
    assert bench_compare.summary_line(pooled, ours) == 'speedup 4.00x memory 0.50x'


def test_data_and_eval_tasks(tmp_path) -> None:
    out = run_tool('--task', 'data', '--steps', '2', '--warmup', '1', '--workers', '0',
                   '--threads', '1',
                   '--log-mel-cache', str(tmp_path / 'cache'),
                   '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/d',
                   'train_dataloader.dataset.synthesize.num_train=4',
                   'train_dataloader.dataset.pipeline.2.source=wav')
    assert re.search(r'\| LoadClipAudio \(log-mel cache, warm\) +\| [0-9.]+', out), out
    assert re.search(r'\| train +\| 0 +\| 4 +\| [0-9.]+', out)
    out = run_tool('--task', 'eval', '--eval-frames', '10', '--threads', '1')
    assert re.search(r'\| AVSBinaryMetric \| 10 +\| 224 ', out)


def _row(out: str, path: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith(f'| {path} '))
    return [c.strip() for c in line.strip('|').split('|')]


def test_compare_reference_at_the_same_precision(tmp_path) -> None:
    """``--amp``: both paths under bfloat16 autocast (the CPU's), and the table's precision
    column says so."""
    out = run_tool(*SMALL, '--compare-reference', '--amp', '--json-out', str(tmp_path / 'a.json'))
    assert _row(out, 'reference')[2] == 'bfloat16 autocast', out
    assert _row(out, 'ours')[2] == 'bfloat16 autocast', out
    result = json.load(open(tmp_path / 'a.json'))['result']
    assert result['reference']['amp'] and result['reference']['amp_dtype'] == 'bfloat16'


def test_reference_fp32_starts_the_reference_worker_without_amp(monkeypatch) -> None:
    """``--amp --reference-fp32``: the reference worker is started without ``--amp`` (a
    worker without it measures in float32: ``test_compare_reference_with_the_released_code``'s
    rows), ours with it."""
    from catravs.analysis import bench_compare
    started = {}

    def record(runs_of, *args):
        started.update(runs_of)
        raise SystemExit('recorded')

    monkeypatch.setattr(bench_compare, 'compare_paths', record)
    for flags, reference_amp in (([], True), (['--reference-fp32'], False)):
        with pytest.raises(SystemExit, match='recorded'):
            run_tool(*SMALL, '--compare-reference', '--amp', *flags)
        assert '--amp' in started['ours'][1]
        assert ('--amp' in started['reference'][1]) is reference_amp, flags


def test_reference_amp_is_autocast_without_grad_scaler() -> None:
    """The reference path's AMP is the released train.py's: autocast around forward and loss,
    no GradScaler (float16 asked: the forward computes in float16, even on the CPU)."""
    from catravs.apis import load_config
    from catravs.engine.optim_wrappers import AnyDeviceAmpOptimWrapper, AutocastOptimWrapper
    cfg = load_config(TINY, None)
    model = torch.nn.Linear(4, 3)
    wrapper = benchmarking._optim_wrapper(model, cfg, True, torch.float16, 'reference')
    assert type(wrapper) is AutocastOptimWrapper and getattr(wrapper, 'loss_scaler', None) is None
    with wrapper.optim_context(model):
        assert model(torch.randn(2, 4)).dtype == torch.float16
    assert model(torch.randn(2, 4)).dtype == torch.float32
    ours = benchmarking._optim_wrapper(model, cfg, True, torch.float16, 'ours')
    assert type(ours) is AnyDeviceAmpOptimWrapper
    assert benchmarking.precision(True, torch.float16, True) == 'float16 autocast + GradScaler'
    assert benchmarking.precision(False, torch.float16, False) == 'float32'


def test_train_step_flops_against_a_hand_count() -> None:
    """Conv2d(3->5, 3x3, pad 1) on 1 x 3 x 8 x 8, then Linear(320 -> 4): forward
    2 * (5*8*8) * (3*3*3) + 2 * 320 * 4; backward: the conv's weight gradient (its input
    needs none) and the linear's input and weight gradients, each as much as its forward."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3, padding=1), torch.nn.Flatten(0),
                              torch.nn.Linear(320, 4))
    x = torch.randn(1, 3, 8, 8)
    conv, linear = 2 * 320 * 27, 2 * 320 * 4
    counted = benchmarking.count_step(lambda: net(x).sum().backward(), 'cpu')
    assert counted['flops'] == 2 * conv + 3 * linear == 42240
    assert counted['host_syncs']['total'] == 0


def test_train_step_table_has_flops_rate_and_syncs(tmp_path) -> None:
    out = run_tool(*SMALL, '--json-out', str(tmp_path / 'r.json'))
    result = json.load(open(tmp_path / 'r.json'))['result']
    assert result['flops'] > 0 and result['host_syncs']['total'] >= 1
    row = _row(out, 'ours')
    assert float(row[7]) == pytest.approx(result['flops'] / 1e12, rel=1e-2)
    assert float(row[8]) == pytest.approx(result['flops'] / 1e12 / result['step_s'], rel=1e-2)
    assert row[9] == '-' and int(row[10]) == result['host_syncs']['total']  # no peak on a CPU
    row = _row(run_tool(*SMALL, '--peak-tflops', '0.5'), 'ours')
    assert re.fullmatch(r'[0-9.]+% of 0.5 \(--peak-tflops\)', row[9]), row


def test_utilisation_uses_the_cards_dense_peak_for_the_dtype() -> None:
    from catravs.analysis.device_peaks import device_peak
    base = dict(flops=989.5e12 * 0.25, step_s=1.0, device='cuda', amp=True,
                amp_dtype='float16', machine=dict(gpu='NVIDIA H100 80GB HBM3'))
    use = benchmarking.utilisation(base)
    assert use['mfu'] == pytest.approx(0.25) and use['peak_of'] == 'H100 SXM5 dense fp16'
    pcie = benchmarking.utilisation(dict(base, machine=dict(gpu='NVIDIA H100 PCIe')))
    assert pcie['peak_tflops'] == 756.5
    fp32 = benchmarking.utilisation(dict(base, amp=False, amp_dtype=None))
    assert fp32['peak_tflops'] == 67.0 or torch.backends.cuda.matmul.allow_tf32
    assert benchmarking.utilisation(base, peak_tflops=100.0)['peak_of'] == '--peak-tflops'
    assert device_peak('NVIDIA H200', 'bf16') == ('H200 SXM', 989.5)
    assert device_peak('NVIDIA L40S', 'bf16')[0] == 'L40S'  # not L4
    assert device_peak('NVIDIA A100-SXM4-80GB', 'tf32') == ('A100', 156.0)  # not A10
    assert device_peak('NVIDIA GeForce RTX 4090', 'fp16') == ('GeForce RTX 4090', 165.2)
    assert device_peak('Some other card', 'fp16') is None
    assert benchmarking.utilisation(dict(base, machine=dict(gpu='Other')))['mfu'] is None


def test_optimizer_implementation_option(tmp_path) -> None:
    """``--optim-impl`` sets the config's optimizer to PyTorch's fused, foreach or for-loop
    Adam; the three take the same step (the for-loop one is the oracle)."""
    from catravs.apis import load_config
    updated = {}
    for impl in ('for-loop', 'foreach', 'fused'):
        cfg = load_config(TINY, None)
        benchmarking.set_optimizer_impl(cfg, impl)
        torch.manual_seed(0)
        model = torch.nn.Linear(5, 3)
        wrapper = benchmarking._optim_wrapper(model, cfg, False, torch.float32)
        defaults = wrapper.optimizer.defaults
        assert defaults['fused'] is (True if impl == 'fused' else None)
        assert defaults['foreach'] is {'for-loop': False, 'foreach': True}.get(impl)
        for _ in range(2):
            wrapper.update_params(model(torch.ones(2, 5)).square().sum())
        updated[impl] = model.weight.detach().clone()
    torch.testing.assert_close(updated['foreach'], updated['for-loop'])
    torch.testing.assert_close(updated['fused'], updated['for-loop'])
    out = run_tool(*SMALL, '--optim-impl', 'fused', '--json-out', str(tmp_path / 'r.json'))
    assert 'optimizer fused' in _row(out, 'ours')[-1]
    result = json.load(open(tmp_path / 'r.json'))['result']
    assert result['optim_impl'] == 'fused' and 0 < result['optimizer_step_s'] < result['step_s']
    assert re.search(r'ours optimizer step \(clipping \+ update, median\): [0-9.e-]+ s', out)
