"""Generate SynthAVS where a demo config expects it, once, safely across processes."""
from __future__ import annotations

import os
import os.path as osp
import shutil
import tempfile

from mmengine.dist import barrier, get_dist_info
from mmengine.logging import print_log

from .synthavs import make_synthavs


def ensure_synthavs(root: str, ann_file: str, subset: str, **kwargs) -> None:
    """Write SynthAVS of ``subset`` to ``root`` unless ``root/ann_file`` exists.

    Rank 0 generates into a temporary sibling folder and renames it to
    ``root`` when complete, so an interrupted run never leaves a half-written
    dataset that later runs would take for a whole one; other ranks wait at a
    barrier. ``kwargs`` go to :func:`make_synthavs` (counts, ``image_size``, ``seed``).
    """
    if osp.isfile(osp.join(root, ann_file)):
        return
    rank, world_size = get_dist_info()
    if rank == 0:
        if osp.exists(root) and os.listdir(root):
            raise FileExistsError(
                f'{root} exists but has no {ann_file}: refusing to write SynthAVS into a '
                'folder that holds other files. Remove it, or point data_root elsewhere.')
        parent = osp.dirname(osp.abspath(root))
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix='.synthavs-', dir=parent)
        print_log(f'{root} not found: generating SynthAVS ({subset}, {kwargs}) there',
                  logger='current')
        try:
            make_synthavs(tmp, subset=subset, progress=True, **kwargs)
            if osp.isdir(root):
                os.rmdir(root)  # empty (checked above)
            os.replace(tmp, root)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not osp.isfile(osp.join(root, ann_file)):  # not a concurrent writer's win
                raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    if world_size > 1:
        barrier()
