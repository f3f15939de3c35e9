"""Fusion encoders: the released CATR fusion, catravs' revision of it, ablations, baselines,
AVSegFormer's mixer and TPAVI's per-stage block."""
from .ablation_fusions import NoGateFusion, SpatialOnlyFusion, TemporalOnlyFusion, VisualOnlyFusion
from .base_fusion import BaseFeatureMapFusion, BaseFusion, BaseTokenFusion
from .base_stage_fusion import BaseStageFusion
from .block_gate import BlockGate
from .combinatorial_dependence_fusion import CombinatorialDependenceFusion
from .cross_attention_fusion import CrossAttentionFusion
from .cross_modal_mixer import CrossModalMixer
from .fusion_output import FusionOutput
from .released_block_gate import ReleasedBlockGate
from .released_catr_fusion import ReleasedCATRFusion
from .released_temporal_layer import ReleasedTemporalLayer
from .temporal_block import TemporalBlock
from .tpavi_block import TPAVIBlock

__all__ = ['BaseFeatureMapFusion', 'BaseFusion', 'BaseStageFusion', 'BaseTokenFusion',
           'BlockGate', 'CombinatorialDependenceFusion', 'CrossAttentionFusion',
           'CrossModalMixer', 'FusionOutput', 'NoGateFusion', 'ReleasedBlockGate',
           'ReleasedCATRFusion', 'ReleasedTemporalLayer', 'SpatialOnlyFusion', 'TPAVIBlock',
           'TemporalBlock', 'TemporalOnlyFusion', 'VisualOnlyFusion']
