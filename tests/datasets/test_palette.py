"""The VOC bit-shift palette and colour-label decoding."""
from __future__ import annotations

import numpy as np
import pytest

from catravs.datasets.palette import class_map_to_rgb, rgb_to_class_map, voc_palette


def test_known_voc_colours():
    pal = voc_palette(256)
    assert pal[0].tolist() == [0, 0, 0]
    assert pal[1].tolist() == [128, 0, 0]
    assert pal[2].tolist() == [0, 128, 0]
    assert pal[4].tolist() == [0, 0, 128]
    assert pal[15].tolist() == [192, 128, 128]        # VOC 'person'
    assert pal[70].tolist() == [32, 128, 128]           # 70 = 0b1_000_110
    assert len({tuple(c) for c in pal.tolist()}) == 256


def test_round_trip_and_unknown_colours():
    classes = np.random.default_rng(0).integers(0, 71, size=(9, 11))
    rgb = class_map_to_rgb(classes)
    decoded, unknown = rgb_to_class_map(rgb, 71)
    assert np.array_equal(decoded, classes) and not unknown.any()
    rgb[0, 0] = (1, 2, 3)
    decoded, unknown = rgb_to_class_map(rgb, 71)
    assert unknown[0, 0] and unknown.sum() == 1 and decoded[0, 0] == 0
    _, unknown = rgb_to_class_map(class_map_to_rgb(np.full((2, 2), 80)), 71)
    assert unknown.all()                               # outside the first 71 classes
    with pytest.raises(ValueError):
        voc_palette(0)
