"""The PASCAL VOC bit-shift colour palette that AVSBench-semantic uses for its labels.

Class ``c`` gets the colour whose R, G, B bits are the bits of ``c`` taken three at a
time, most significant colour bit first (the VOC ``labelcolormap`` algorithm):
0 -> black (background), 1 -> (128, 0, 0), 2 -> (0, 128, 0), 3 -> (128, 128, 0), ...
Colours are RGB; opencv/mmcv read BGR, so callers flip the channel order.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ['voc_palette', 'class_map_to_rgb', 'rgb_to_class_map']


@functools.lru_cache(maxsize=4)
def voc_palette(num_classes: int = 256) -> np.ndarray:
    """``uint8[num_classes, 3]`` RGB colours of classes ``0 .. num_classes - 1``."""
    if not 1 <= num_classes <= 256:
        raise ValueError(f'num_classes must be in [1, 256], got {num_classes}')
    palette = np.zeros((num_classes, 3), dtype=np.uint8)
    for cls in range(num_classes):
        lab, shift = cls, 7
        while lab > 0:
            for channel in range(3):
                palette[cls, channel] |= ((lab >> channel) & 1) << shift
            lab >>= 3
            shift -= 1
    palette.setflags(write=False)
    return palette


def class_map_to_rgb(class_map: np.ndarray) -> np.ndarray:
    """``uint8/int[H, W]`` class indices -> ``uint8[H, W, 3]`` RGB colour-coded label."""
    class_map = np.asarray(class_map)
    if class_map.min(initial=0) < 0 or class_map.max(initial=0) > 255:
        raise ValueError('class indices must be in [0, 255]')
    return voc_palette(256)[class_map.astype(np.int64)]


def rgb_to_class_map(rgb: np.ndarray, num_classes: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Decode an RGB colour-coded label.

    Args:
        rgb: ``uint8[H, W, 3]`` in RGB order.
        num_classes: only the first ``num_classes`` palette colours are valid.

    Returns:
        ``(class_map uint8[H, W], unknown bool[H, W])``: the class of every pixel
        (0 where the colour is unknown) and where the colour is not in the palette.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'expected an [H, W, 3] colour label, got shape {rgb.shape}')
    codes = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) \
        | rgb[..., 2].astype(np.int64)
    palette = voc_palette(num_classes).astype(np.int64)
    palette_codes = (palette[:, 0] << 16) | (palette[:, 1] << 8) | palette[:, 2]
    lookup = {int(code): cls for cls, code in enumerate(palette_codes)}
    uniques, inverse = np.unique(codes, return_inverse=True)
    classes = np.array([lookup.get(int(code), -1) for code in uniques], dtype=np.int64)
    per_pixel = classes[inverse.reshape(codes.shape)]
    unknown = per_pixel < 0
    return np.where(unknown, 0, per_pixel).astype(np.uint8), unknown
