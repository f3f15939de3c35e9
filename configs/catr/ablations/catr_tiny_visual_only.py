# No audio: video tokens through encoder layers only, learned queries (VisualOnlyFusion).
_base_ = ['./catr_tiny_full.py']

model = dict(
    fusion=dict(_delete_=True, type='VisualOnlyFusion', d_model={{_base_.d_model}}, nhead=4,
                num_layers=3, dim_feedforward=128, dropout=0.0),
    decoder=dict(query_init='learned'),
)
