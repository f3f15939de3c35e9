# Spatial branch only: no temporal blocks, no gates (SpatialOnlyFusion).
_base_ = ['./catr_tiny_full.py']

model = dict(fusion=dict(type='SpatialOnlyFusion'))
