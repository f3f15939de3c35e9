"""Geometric transforms of a clip: the same geometry for every frame and every mask.

They change ``frames`` (list of T ``uint8[H, W, 3]``) and, when present, ``gt_masks``
(``uint8[T, H, W]``; nearest-neighbour interpolation), and update ``img_shape``.
Random parameters are drawn once per clip (with ``numpy.random``, which MMEngine
seeds per worker). A frame whose mask is 255 everywhere (no label) stays so.
Affine warps and torchvision's other transforms: ``ClipTorchvision``
(``torchvision_clip.py``), which applies torchvision's own v2 transforms to the clip.
"""
from __future__ import annotations

from collections.abc import Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from catravs.registry import TRANSFORMS

from .loading import IGNORE_INDEX

__all__ = ['ClipResize', 'ClipRandomFlip', 'ClipRandomCrop', 'ClipShortSideResizeCenterCrop']


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if len(value) != 2:
        raise ValueError(f'{name} must be an int or a pair, got {value}')
    return int(value[0]), int(value[1])


def _check_backend(backend: str) -> str:
    if backend not in ('cv2', 'pillow'):
        raise ValueError(f"backend must be 'cv2' or 'pillow', got {backend!r}")
    return backend


def _unlabelled(masks: np.ndarray) -> np.ndarray:
    """``bool[T]``: frames whose mask is 255 everywhere."""
    return (masks == IGNORE_INDEX).reshape(masks.shape[0], -1).all(axis=1)


def _map_masks(results: dict, fn) -> None:
    """Apply ``fn(mask[H, W]) -> mask`` to each labelled frame; unlabelled stay all 255."""
    masks = results.get('gt_masks')
    if masks is None:
        return
    empty = _unlabelled(masks)
    out = []
    for t, mask in enumerate(masks):
        new = fn(mask)
        out.append(np.full_like(new, IGNORE_INDEX) if empty[t] else new)
    results['gt_masks'] = np.ascontiguousarray(np.stack(out), dtype=np.uint8)


@TRANSFORMS.register_module()
class ClipResize(BaseTransform):
    """Resize every frame (and mask) to ``scale``.

    Args:
        scale: ``(w, h)`` or an int for a square. With ``keep_ratio`` the frame is
            rescaled to fit inside ``scale`` (``mmcv.imrescale``).
        keep_ratio: keep the aspect ratio.
        resize_masks: also resize ``gt_masks`` (nearest). False keeps the labels at
            their original size (to evaluate at label resolution).
        interpolation: for frames (``'bilinear'``, ``'nearest'``, ``'bicubic'``, ``'area'``).
        backend: ``'cv2'`` or ``'pillow'`` (PIL's ``Image.resize``, which AVSBench's
            loaders use: antialiased when shrinking, and its own nearest-neighbour
            pixel centres). Frames and masks use the same backend.
    """

    def __init__(self, scale: int | Sequence[int], keep_ratio: bool = False,
                 resize_masks: bool = True, interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        self.scale = _pair(scale, 'scale')
        self.keep_ratio = keep_ratio
        self.resize_masks = resize_masks
        self.interpolation = interpolation
        self.backend = _check_backend(backend)

    def _resize(self, img: np.ndarray, interpolation: str) -> np.ndarray:
        if self.keep_ratio:
            return mmcv.imrescale(img, self.scale, interpolation=interpolation,
                                  backend=self.backend)
        return mmcv.imresize(img, self.scale, interpolation=interpolation, backend=self.backend)

    def transform(self, results: dict) -> dict:
        h0, w0 = results['frames'][0].shape[:2]
        results['frames'] = [self._resize(f, self.interpolation) for f in results['frames']]
        h, w = results['frames'][0].shape[:2]
        if self.resize_masks:
            _map_masks(results, lambda m: self._resize(m, 'nearest'))
        results['img_shape'] = (h, w)
        results['scale_factor'] = (w / w0, h / h0)
        results['keep_ratio'] = self.keep_ratio
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, '
                f'backend={self.backend!r})')


@TRANSFORMS.register_module()
class ClipRandomFlip(BaseTransform):
    """Flip the whole clip with probability ``prob`` (one draw per clip).

    Adds ``flip`` (bool) and ``flip_direction``.
    """

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal') -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"direction must be 'horizontal' or 'vertical', got {direction!r}")
        self.prob = prob
        self.direction = direction

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.prob)
        if flip:
            results['frames'] = [mmcv.imflip(f, self.direction) for f in results['frames']]
            _map_masks(results, lambda m: mmcv.imflip(m, self.direction))
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob}, direction={self.direction!r})'


@TRANSFORMS.register_module()
class ClipRandomCrop(BaseTransform):
    """Crop the same random window of size ``crop_size`` from every frame.

    Frames smaller than the window are first padded at the bottom/right (frames with
    0, masks with 255). Adds ``crop_bbox`` ``(x1, y1, x2, y2)``.

    Args:
        crop_size: ``(h, w)`` or an int.
    """

    def __init__(self, crop_size: int | Sequence[int]) -> None:
        self.crop_size = _pair(crop_size, 'crop_size')

    def transform(self, results: dict) -> dict:
        ch, cw = self.crop_size
        h, w = results['frames'][0].shape[:2]
        if h < ch or w < cw:
            shape = (max(h, ch), max(w, cw))
            results['frames'] = [mmcv.impad(f, shape=shape, pad_val=0) for f in results['frames']]
            if results.get('gt_masks') is not None:
                results['gt_masks'] = np.stack([mmcv.impad(m, shape=shape, pad_val=IGNORE_INDEX)
                                                for m in results['gt_masks']])
            h, w = shape
        y1 = int(np.random.randint(0, h - ch + 1))
        x1 = int(np.random.randint(0, w - cw + 1))
        bbox = np.array([x1, y1, x1 + cw - 1, y1 + ch - 1])
        results['frames'] = [mmcv.imcrop(f, bbox) for f in results['frames']]
        if results.get('gt_masks') is not None:
            results['gt_masks'] = np.ascontiguousarray(
                results['gt_masks'][:, y1:y1 + ch, x1:x1 + cw])
        results['img_shape'] = (ch, cw)
        results['crop_bbox'] = (x1, y1, x1 + cw, y1 + ch)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class ClipShortSideResizeCenterCrop(BaseTransform):
    """Resize the short side to ``size`` (keeping the ratio), then centre-crop
    ``size x size`` (the AVSBench-semantic training preprocessing, ``crop_resize_img``;
    AVSBench resizes with PIL: ``backend='pillow'``).
    """

    def __init__(self, size: int, interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        self.size = int(size)
        self.interpolation = interpolation
        self.backend = _check_backend(backend)

    def transform(self, results: dict) -> dict:
        h, w = results['frames'][0].shape[:2]
        if w > h:
            oh, ow = self.size, int(w * self.size / h)
        else:
            ow, oh = self.size, int(h * self.size / w)
        x1 = int(round((ow - self.size) / 2.0))
        y1 = int(round((oh - self.size) / 2.0))

        def run(img: np.ndarray, interp: str) -> np.ndarray:
            out = mmcv.imresize(img, (ow, oh), interpolation=interp, backend=self.backend)
            return out[y1:y1 + self.size, x1:x1 + self.size]

        results['frames'] = [np.ascontiguousarray(run(f, self.interpolation))
                             for f in results['frames']]
        _map_masks(results, lambda m: run(m, 'nearest'))
        results['img_shape'] = (self.size, self.size)
        results['scale_factor'] = (ow / w, oh / h)
        results['crop_bbox'] = (x1, y1, x1 + self.size, y1 + self.size)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'
