"""Visual backbones (category 'visual_backbone')."""
from .base_visual_backbone import BaseVisualBackbone
from .pretrained import (
                         LoadReport,
                         PretrainedLoaderMixin,
                         load_converted_state_dict,
                         load_state_dict_file,
)
from .pvt_v2 import PVTv2B5Backbone, PVTv2Backbone, convert_pvt_v2_to_timm
from .resnet50 import ResNet50Backbone, convert_torchvision_resnet
from .tiny_conv import TinyConvBackbone

__all__ = [
    'BaseVisualBackbone', 'ResNet50Backbone', 'PVTv2Backbone', 'PVTv2B5Backbone',
    'TinyConvBackbone', 'convert_pvt_v2_to_timm', 'convert_torchvision_resnet',
    'LoadReport', 'PretrainedLoaderMixin', 'load_converted_state_dict', 'load_state_dict_file',
]
