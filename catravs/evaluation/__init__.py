"""Evaluation: AVSBench's metric definitions (``functional``) and MMEngine metrics."""
from . import functional
from .metrics import AVSBinaryMetric, AVSSemanticMetric

__all__ = ['functional', 'AVSBinaryMetric', 'AVSSemanticMetric']
