# The released code's computation at the demo's size: ReleasedCATRFusion (v * a * a
# modulation, frame 0's audio tokens, one scalar gate), the released 128/64/32-style pixel
# decoder at stride 16 with a 2-layer kernel MLP, logits resized to the labels for matching
# and losses, the released loss normalisation (class loss summed over the queries / frames,
# class cost 2, double-sigmoid BCE), no stride-4 neck level, and the released
# initialisation. Everything else (tiny backbone and audio encoder, sizes, schedule) as
# catr_tiny_full.py.
_base_ = ['./catr_tiny_full.py']

d_model = 64
model = dict(
    loss_resolution='label',
    neck=dict(out_levels=(1, 2, 3), weight_std=0.01),
    decoder=dict(xavier_init=True),
    fusion=dict(_delete_=True, type='ReleasedCATRFusion', d_model=d_model, nhead=4,
                num_layers=3, dim_feedforward=128, temporal_feedforward=128, dropout=0.0),
    head=dict(pixel_decoder=dict(type='ReleasedFPNDecoder'), kernel_layers=2),
    criterion=dict(
        matcher=dict(cost_class=2.0),
        loss_cls=dict(loss_weight=1.0, normalize='frames'),
        loss_bce=dict(released_double_sigmoid=True)),
)
