from .avs_visualizer import AVSVisualizer, overlay_mask

__all__ = ['AVSVisualizer', 'overlay_mask']
