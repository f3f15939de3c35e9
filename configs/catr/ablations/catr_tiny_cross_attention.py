# Baseline: video tokens of all frames cross-attend the clip's audio, TPAVI-style
# (CrossAttentionFusion), instead of CATR's decoupled branches and gates.
_base_ = ['./catr_tiny_full.py']

model = dict(
    fusion=dict(_delete_=True, type='CrossAttentionFusion', d_model={{_base_.d_model}},
                nhead=4, num_layers=3, dim_feedforward=128, dropout=0.0),
)
