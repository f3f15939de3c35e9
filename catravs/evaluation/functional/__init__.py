"""Pure-torch implementations of AVSBench's metric definitions."""
from .binary import (
                     binary_fscore,
                     binary_fscore_curves,
                     binary_jaccard,
                     binary_pr_curves,
                     binary_probs,
                     fscore_from_pr,
                     fscore_of_curves,
                     fscore_thresholds,
)
from .semantic import (
                     semantic_frame_areas,
                     semantic_iou_fscore,
                     semantic_iou_fscore_from_labels,
                     semantic_miou_fscore,
                     semantic_per_class,
                     semantic_pred_labels,
)

__all__ = [
    'binary_jaccard', 'binary_pr_curves', 'binary_fscore_curves', 'binary_fscore',
    'binary_probs', 'fscore_from_pr', 'fscore_of_curves', 'fscore_thresholds',
    'semantic_pred_labels', 'semantic_frame_areas', 'semantic_iou_fscore',
    'semantic_iou_fscore_from_labels', 'semantic_per_class', 'semantic_miou_fscore',
]
