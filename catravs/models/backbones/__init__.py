from .base_visual_backbone import BaseVisualBackbone

__all__ = ['BaseVisualBackbone']
