"""Shared fixtures: tiny model configs and small generated inputs."""
from __future__ import annotations

import copy
import os
import os.path as osp
import tempfile
from collections.abc import Callable

import mmengine.config  # noqa: F401  (see below)
import pytest
import torch
import torch.distributed as dist

# Import MMEngine's config module here, in the process that starts the pytest-xdist
# workers: it imports yapf, which on its first import in a new environment writes a
# grammar cache file, and two workers doing that at once can read each other's half-written
# file (EOFError while collecting).

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def torch_threads() -> int:
    """Threads per test process: the cores shared among pytest-xdist's workers, at most 2.

    With as many workers as cores (``-n 2`` on 2 cores), each worker gets one thread:
    two threads per worker would only make the workers take the cores from each other.
    """
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    return max(1, min(2, (cores or 1) // workers))


torch.set_num_threads(torch_threads())
if 'PYTEST_XDIST_WORKER' in os.environ:
    # the tools that a worker's tests start as subprocesses get the same share of the cores
    os.environ['OMP_NUM_THREADS'] = str(torch_threads())


def pytest_configure(config):
    """``-n N`` distributes with ``--dist loadgroup`` unless ``--dist`` is given: tests that
    share a costly module or session fixture carry ``pytest.mark.xdist_group`` and run on one
    worker, so the fixture is built once (plain ``load`` would build it on every worker)."""
    workerinput = getattr(config, 'workerinput', None)
    if workerinput is not None:  # a pytest-xdist worker: as the controller decided
        if workerinput.get('catravs_loadgroup'):
            config.option.loadgroup = True  # the worker suffixes grouped test ids with @group
        return
    explicit = any(arg in ('--dist', '-d', '--distload') or arg.startswith('--dist=')
                   for arg in config.invocation_params.args)
    if getattr(config.option, 'dist', 'no') == 'load' and not explicit:
        config.option.dist = 'loadgroup'


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """In a loadgroup worker, give each ``xdist_group`` test the ``@group`` id suffix that the
    controller's scheduler groups by. pytest-xdist 3.8 does it by setting ``item._nodeid``,
    which pytest 9.2 no longer reads (a node's id is ``item._id``), so without this every
    test would be scheduled alone."""
    if not getattr(config.option, 'loadgroup', False):
        return
    for item in items:
        names = {str(mark.args[0] if mark.args else mark.kwargs.get('name', 'default'))
                 for mark in item.iter_markers('xdist_group')}
        if names and '@' not in item.nodeid and hasattr(item, '_id'):
            item._id = type(item._id).parse(f"{item.nodeid}@{'_'.join(sorted(names))}")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist, in the controller, for each worker it starts."""
    node.workerinput['catravs_loadgroup'] = node.config.option.dist == 'loadgroup'


def tiny_catr_cfg(d_model: int = 32, **overrides) -> dict:
    """A small CATR config built from the registered parts."""
    cfg = dict(
        type='CATR', task='binary', num_classes=1, d_model=d_model,
        data_preprocessor=dict(type='AVSDataPreprocessor'),
        backbone=dict(type='TinyConvBackbone', out_channels=(8, 16, 16, 32)),
        neck=dict(type='ASPPSumNeck', out_channels=d_model, dilations=(1, 2)),
        audio_encoder=dict(type='TinyAudioEncoder', out_channels=16, channels=(4, 8, 8)),
        fusion=dict(type='CombinatorialDependenceFusion', d_model=d_model, nhead=4,
                    num_layers=2, dim_feedforward=64, temporal_feedforward=32),
        decoder=dict(type='AudioQueriedDecoder', num_queries=4, d_model=d_model, nhead=4,
                     num_layers=2, dim_feedforward=64),
        head=dict(type='DynamicMaskHead', channels=d_model, mask_dim=8),
        criterion=dict(
            type='MaskSetCriterion', matcher=dict(type='HungarianMatcher'),
            loss_cls=dict(type='ClassificationLoss', loss_weight=2.0),
            loss_focal=dict(type='SigmoidFocalLoss', loss_weight=5.0),
            loss_dice=dict(type='DiceLoss', loss_weight=5.0),
            loss_bce=dict(type='MaskBCELoss', loss_weight=4.0)))
    cfg.update(copy.deepcopy(overrides))
    return cfg


def _detached(x):
    if torch.is_tensor(x):
        return x.detach()
    if isinstance(x, (list, tuple)):
        return type(x)(_detached(v) for v in x)
    return x


def record_method_outputs(obj, name: str) -> tuple[dict, Callable[[], None]]:
    """Wraps ``obj.<name>`` (on the instance) so that each call's return value is kept,
    detached (inside tuples and lists too), under ``record['outputs']``. -> ``(record,
    restore)``; ``restore()`` takes the wrapper away (the class's method again)."""
    record: dict = {}
    method = getattr(obj, name)

    def recording(*args, **kwargs):
        out = method(*args, **kwargs)
        record['outputs'] = _detached(out)
        return out

    setattr(obj, name, recording)
    return record, lambda: delattr(obj, name)


@pytest.fixture
def make_batch():
    """``make_batch(B, T, H, task)`` -> a collated batch as a dataloader yields it."""
    from catravs.structures import AVSDataSample

    def _make(batch: int = 2, frames: int = 5, size: int = 64, task: str = 'binary',
              num_classes: int = 1, annotated_first_only: bool = False, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        samples, clips, audio = [], [], []
        for i in range(batch):
            annotated = [True] + [not annotated_first_only] * (frames - 1)
            sample = AVSDataSample(metainfo=dict(
                clip_id=f'clip{i}', annotated_frames=annotated, valid_frames=[True] * frames,
                img_shape=(size, size), ori_shape=(size, size)))
            gt = torch.zeros(frames, size, size, dtype=torch.long)
            top = 8 + 4 * i
            gt[:, top:top + 16, 10:30] = 1 if task == 'binary' else num_classes - 1
            for t, ann in enumerate(annotated):
                if not ann:
                    gt[t] = 255
            sample.gt_masks = gt
            samples.append(sample)
            clips.append(torch.randint(0, 255, (frames, 3, size, size), generator=gen,
                                       dtype=torch.uint8))
            audio.append(torch.randn(frames, 1, 96, 64, generator=gen))
        return dict(inputs=dict(frames=clips, audio=audio), data_samples=samples)

    return _make


@pytest.fixture()
def one_process_group():
    """A gloo process group of one process (DDP's reducer runs as with several)."""
    with tempfile.TemporaryDirectory() as tmp:
        dist.init_process_group('gloo', init_method=f'file://{osp.join(tmp, "store")}',
                                rank=0, world_size=1)
        try:
            yield
        finally:
            dist.destroy_process_group()
