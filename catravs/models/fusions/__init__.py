from .base_fusion import BaseFusion
from .block_gate import BlockGate
from .combinatorial_dependence_fusion import CombinatorialDependenceFusion
from .fusion_output import FusionOutput
from .temporal_block import TemporalBlock

__all__ = ['BaseFusion', 'BlockGate', 'CombinatorialDependenceFusion', 'FusionOutput',
           'TemporalBlock']
