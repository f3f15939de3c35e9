"""From a config to a Runner: the tools' common arguments, the work dir, the CPU
set-up of a (distributed) run, resuming, and the runner itself.

``tools/train.py``, ``tools/test.py`` and :func:`catravs.apis.train` go through
:func:`runner_config` / :func:`set_work_dir` and :func:`build_runner`, so the
default work dir and the choice of runner class are made here only.
"""
from __future__ import annotations

import argparse
import datetime
import logging
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction

from catravs.apis.config_loader import load_config


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. train_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torchrun sets LOCAL_RANK; torch.distributed.launch passed --local-rank
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0)


def runner_config(args: argparse.Namespace) -> Config:
    """The config of a tool's run: :func:`~catravs.apis.config_loader.load_config`
    with ``--cfg-options``, then the launcher, the work dir and the CPU set-up.

    Args:
        args: parsed arguments with ``config``, ``cfg_options``, ``launcher``,
            ``work_dir`` and ``local_rank`` (see :func:`add_common_args`).
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir)
    # gloo wherever CUDA is absent, so that multi-process runs work on CPU
    import torch
    if not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        _prepare_cpu_run(cfg)
    return cfg


def set_work_dir(cfg: Config, work_dir: Optional[str] = None) -> None:
    """``cfg.work_dir``: ``work_dir`` if given, else the config's own, else
    ``./work_dirs/<config file name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(cfg.filename or 'config'))[0]
        cfg.work_dir = osp.join('./work_dirs', name)


#: the default hooks that MMEngine's Runner registers itself (``None`` removes one of them)
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler',
                          'checkpoint')


def build_runner(cfg: Config):
    """The Runner of a config: MMEngine's ``Runner``, or the registered class that
    the config names in ``runner_type``.

    A default hook of catravs' set to ``None`` is off (``--cfg-options
    default_hooks.channels_last=None``): it is dropped here, as MMEngine accepts ``None``
    only for its own :data:`MMENGINE_DEFAULT_HOOKS` (for which it removes the hook)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    hooks = cfg.get('default_hooks')
    if hooks:
        cfg.default_hooks = {name: hook for name, hook in hooks.items()
                             if hook is not None or name in MMENGINE_DEFAULT_HOOKS}
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def _prepare_cpu_run(cfg: Config) -> None:
    """Make a config run on a machine without CUDA, in one process or several.

    MMEngine 0.10.7 cannot start a multi-process run there: its launcher calls
    ``torch.cuda.set_device`` and it wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``. For the ``pytorch`` launcher (torchrun), the gloo
    process group is started here (the Runner then skips its own start) and the
    DDP wrapper gets ``device_ids=None``. SyncBN needs CUDA: it is dropped with a
    warning.
    """
    from mmengine.logging import print_log
    if cfg.get('sync_bn'):
        print_log(f"sync_bn='{cfg.sync_bn}' needs CUDA; this machine has none, so the "
                  'model keeps plain BatchNorm (statistics per process)',
                  logger='current', level=logging.WARNING)
        cfg.sync_bn = None
    if cfg.launcher == 'none':
        return
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if wrapper.get('type', 'MMDistributedDataParallel') in _DDP_WRAPPERS:
        wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if cfg.launcher != 'pytorch':
        raise RuntimeError(f"--launcher {cfg.launcher} needs CUDA with MMEngine 0.10.7; "
                           'on CPU-only machines launch with torchrun (tools/dist_train.sh)')
    import torch.distributed as dist
    if not dist.is_initialized():
        timeout = cfg.env_cfg.dist_cfg.get('timeout')
        kwargs = {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
        dist.init_process_group(backend='gloo', **kwargs)


_DDP_WRAPPERS = ('MMDistributedDataParallel', 'DistributedDataParallel')


def apply_resume(cfg: Config, resume: Optional[str]) -> None:
    """Set up ``--resume``: None (off), ``'auto'`` (the work dir's latest
    complete checkpoint, see
    :func:`catravs.engine.checkpoint_io.find_resumable_checkpoint`) or a path."""
    if resume is None:
        return
    if resume == 'auto':
        from catravs.engine.checkpoint_io import find_resumable_checkpoint
        resume = find_resumable_checkpoint(cfg.work_dir)
    # load_from None with resume: MMEngine starts afresh (no checkpoint yet)
    cfg.resume, cfg.load_from = True, resume


def finish_distributed() -> None:
    """End a multi-process run cleanly: wait for every rank, free the runner's
    distributed model, then destroy the process group.

    Call it after the tool's runner is out of scope. MMEngine leaves the group to
    interpreter shutdown, and ``destroy_process_group`` alone does not stop gloo's
    worker threads: the DDP wrapper still holds the group, and the runner that holds
    the wrapper sits in reference cycles that only the garbage collector frees. Those
    threads then ran into interpreter finalization, where a rank could abort after
    its work was done ("terminate called without an active exception", SIGABRT) and
    torchrun failed the run. Nothing to do outside a distributed run.
    """
    import gc

    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()  # no rank tears its connections down while another still talks
    gc.collect()  # the runner's cycles: the DDP wrapper and its reference to the group
    dist.destroy_process_group()
