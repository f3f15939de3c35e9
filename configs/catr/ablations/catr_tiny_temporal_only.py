# Temporal branch only, with gates; its last tokens are the decoder's memory (TemporalOnlyFusion).
_base_ = ['./catr_tiny_full.py']

model = dict(fusion=dict(type='TemporalOnlyFusion'))
