"""GatedBiCross plugin: importing this package registers ``GatedBiCrossFusion``.

Configs load it with
``custom_imports = dict(imports=['projects.gated_bicross_fusion.gated_bicross'])``.
"""
from .gated_bicross_fusion import GatedBiCrossFusion, GatedBiCrossLayer, time_embedding

__all__ = ['GatedBiCrossFusion', 'GatedBiCrossLayer', 'time_embedding']
