"""Fusion encoders: CATR's combinatorial-dependence fusion, its ablations and baselines."""
from .ablation_fusions import NoGateFusion, SpatialOnlyFusion, TemporalOnlyFusion, VisualOnlyFusion
from .base_fusion import BaseFusion
from .block_gate import BlockGate
from .combinatorial_dependence_fusion import CombinatorialDependenceFusion
from .cross_attention_fusion import CrossAttentionFusion
from .fusion_output import FusionOutput
from .temporal_block import TemporalBlock

__all__ = ['BaseFusion', 'BlockGate', 'CombinatorialDependenceFusion', 'CrossAttentionFusion',
           'FusionOutput', 'NoGateFusion', 'SpatialOnlyFusion', 'TemporalBlock',
           'TemporalOnlyFusion', 'VisualOnlyFusion']
