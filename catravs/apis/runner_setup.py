"""Shared set-up of the command-line tools."""
from __future__ import annotations

import argparse
import datetime
import logging
import os
import os.path as osp
import sys
from typing import Optional

from mmengine.config import Config, DictAction

from catravs.apis.config_loader import fromfile_with_plugins
from catravs.utils.config_checks import check_top_level_keys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def add_repo_root_to_path() -> None:
    """Make ``projects.*`` plugins importable from any working directory."""
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. train_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torchrun sets LOCAL_RANK; torch.distributed.launch passed --local-rank
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Read the config, apply ``--cfg-options``, the launcher and the work dir."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    add_repo_root_to_path()
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config} does not exist')
    # plugins (custom_imports) fail with a message naming the plugin and the config
    cfg = fromfile_with_plugins(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    check_top_level_keys(cfg)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    # gloo wherever CUDA is absent, so that multi-process runs work on CPU
    import torch
    if not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        _prepare_cpu_run(cfg)
    return cfg


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
