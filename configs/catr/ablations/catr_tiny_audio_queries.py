# Queries initialised from each frame's projected audio (decoder.query_init='audio').
_base_ = ['./catr_tiny_full.py']

model = dict(decoder=dict(query_init='audio'))
