"""torchvision's transforms v2 on a whole clip: one random draw for all frames and masks.

The released CATR loader (``CATR/dataloader.py``, ``S4Dataset``) augments S4 training
clips with torchvision transforms on PIL images, re-seeding torch before each frame and
each mask so that they all get the same random parameters. :class:`ClipTorchvision`
gets the same effect in one call: the T frames become one ``tv_tensors.Image[T, 3, H, W]``
and the masks one ``tv_tensors.Mask[T, H, W]``; a v2 transform draws its parameters
once per call and applies them to every frame and mask (masks always with nearest
interpolation). Random numbers come from torch's generator, which MMEngine seeds per
dataloader worker.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from catravs.registry import TRANSFORMS

from .loading import IGNORE_INDEX

__all__ = ['ClipTorchvision']


def _build(cfg: dict) -> Any:
    """One v2 transform from ``dict(type='RandomAffine', ...)``.

    ``interpolation`` may be a name (``'nearest'``, ``'bilinear'``); ``fill`` may be a
    dict keyed by ``'Image'`` / ``'Mask'`` (a fill per input type, as v2 takes it).
    """
    from torchvision import tv_tensors  # here: importing torchvision takes 0.6 s
    from torchvision.transforms import v2
    cfg = dict(cfg)
    name = cfg.pop('type', None)
    cls = getattr(v2, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, v2.Transform)):
        raise ValueError(f'ClipTorchvision: {name!r} is not a torchvision.transforms.v2 '
                         'transform')
    if isinstance(cfg.get('interpolation'), str):
        cfg['interpolation'] = v2.InterpolationMode[cfg['interpolation'].upper()]
    if isinstance(cfg.get('fill'), dict):
        types = dict(Image=tv_tensors.Image, Mask=tv_tensors.Mask)
        cfg['fill'] = {types[k] if isinstance(k, str) else k: v
                       for k, v in cfg['fill'].items()}
    return cls(**cfg)


@TRANSFORMS.register_module()
class ClipTorchvision(BaseTransform):
    """Apply torchvision v2 transforms to the whole clip with one random draw.

    Frames (``frames``: T ``uint8[H, W, 3]`` BGR) are handed to torchvision as RGB,
    so colour arguments (``fill``) are given in RGB as torchvision takes them;
    ``gt_masks`` (``uint8[T, H, W]``) as a ``tv_tensors.Mask``. A frame whose mask
    is 255 everywhere (no label) stays so. Updates ``img_shape``.

    Args:
        transforms: v2 transform configs, applied in order, e.g. the released S4
            training augmentation::

                [dict(type='RandomAffine', degrees=20, scale=(0.5, 1.0), shear=10),
                 dict(type='Resize', size=224),
                 dict(type='RandomCrop', size=224, pad_if_needed=True,
                      fill=dict(Image=(124, 116, 104), Mask=0)),
                 dict(type='RandomHorizontalFlip')]
    """

    def __init__(self, transforms: Sequence[dict]) -> None:
        from torchvision.transforms import v2
        self.transform_cfgs = [dict(t) for t in transforms]
        self.pipeline = v2.Compose([_build(t) for t in self.transform_cfgs])

    def transform(self, results: dict) -> dict:
        from torchvision import tv_tensors
        frames = np.stack(results['frames'])[..., ::-1]                  # BGR -> RGB
        inputs: list[Any] = [tv_tensors.Image(
            torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2))]
        masks = results.get('gt_masks')
        if masks is not None:
            empty = (masks == IGNORE_INDEX).reshape(masks.shape[0], -1).all(axis=1)
            inputs.append(tv_tensors.Mask(torch.from_numpy(np.ascontiguousarray(masks))))
        outputs = self.pipeline(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        out_frames = outputs[0].permute(0, 2, 3, 1).numpy()[..., ::-1]   # RGB -> BGR
        results['frames'] = [np.ascontiguousarray(f) for f in out_frames]
        if masks is not None:
            out_masks = outputs[1].numpy().astype(np.uint8, copy=True)
            out_masks[empty] = IGNORE_INDEX
            results['gt_masks'] = out_masks
        results['img_shape'] = tuple(results['frames'][0].shape[:2])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(transforms={self.transform_cfgs})'
