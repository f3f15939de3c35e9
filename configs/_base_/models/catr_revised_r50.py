# catravs' revision of CATR (ResNet-50): the released model (catr_r50.py) with the changes
# below, each made because the released computation loses information or gradient:
# - fusion: CombinatorialDependenceFusion. The temporal blocks update the video with a
#   residual and LayerNorm (v = norm(v + v * attn)) instead of v * attn * attn, which can
#   shrink features towards 0 over the layers; each frame keeps its own audio token
#   (the released code takes frame 0's copy for the whole clip); the video tokens carry
#   their position when they read the audio; one per-channel convex gate per block pair
#   (the released code has one scalar gate and drops its second gate's conv).
# - head: FPNPixelDecoder, 256 channels down to stride 4 (the released decoder narrows to
#   32 channels and stops at stride 16: 28 x 28 masks at 448 input), a 3-layer kernel MLP.
# - losses at the prediction grid with the labels resized there (cheaper than upsampling
#   50 queries to the labels), a plain BCE (no double sigmoid), the class loss as a
#   weighted mean over the queries, class cost 1.
_base_ = ['./catr_r50.py']

d_model = 256
model = dict(
    loss_resolution='prediction',
    neck=dict(out_levels=None, weight_std=None),
    decoder=dict(xavier_init=False),
    fusion=dict(
        _delete_=True,
        type='CombinatorialDependenceFusion',
        d_model=d_model,
        nhead=8,
        num_layers=3,
        dim_feedforward=2048,
        temporal_feedforward=256,
        dropout=0.1),
    head=dict(_delete_=True, type='DynamicMaskHead', channels=d_model, mask_dim=64,
              pixel_decoder=dict(type='FPNPixelDecoder'), kernel_layers=3),
    criterion=dict(
        matcher=dict(cost_class=1.0),
        loss_cls=dict(normalize='weights'),
        loss_bce=dict(released_double_sigmoid=False)),
)
