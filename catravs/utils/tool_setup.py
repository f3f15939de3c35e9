"""Shared set-up of the command-line tools."""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

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
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    # gloo wherever CUDA is absent, so that multi-process runs work on CPU
    import torch
    if not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    return cfg
