# Both branches, no block-wise gate: the last temporal block is the fused video (NoGateFusion).
_base_ = ['./catr_tiny_full.py']

model = dict(fusion=dict(type='NoGateFusion'))
