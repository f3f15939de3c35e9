"""Metrics of audio-visual segmentation, registered in ``catravs.registry.METRICS``."""
from .avs_binary_metric import AVSBinaryMetric
from .avs_semantic_metric import AVSSemanticMetric

__all__ = ['AVSBinaryMetric', 'AVSSemanticMetric']
