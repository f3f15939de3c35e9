"""AVS datasets, SynthAVS and the clip transforms."""
from .avss_dataset import AVSSDataset, load_label2idx
from .base_avs_dataset import BaseAVSDataset, seeded_derangement
from .file_io import DataFileError
from .ms3_dataset import MS3Dataset
from .palette import class_map_to_rgb, rgb_to_class_map, voc_palette
from .s4_dataset import S4Dataset
from .synthavs import make_synthavs
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all

__all__ = [
    'BaseAVSDataset', 'S4Dataset', 'MS3Dataset', 'AVSSDataset', 'load_label2idx',
    'seeded_derangement', 'DataFileError', 'make_synthavs', 'voc_palette',
    'class_map_to_rgb', 'rgb_to_class_map', *_transforms_all,
]
