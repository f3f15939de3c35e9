# A small AVSegFormer for CPU demos: the structure of avsegformer_pvt.py (deformable encoder
# over the stride-8/16/32 levels, audio-conditioned + learnable queries, dense decoder,
# CrossModalMixer, query-mixing mask head, dice + 0.1 mix loss) with a tiny conv backbone, a
# tiny trainable audio encoder, 2-layer transformers of width 64 and 16 queries.
d_model = 64
num_queries = 16
model = dict(
    type='AVSegFormer',
    task='binary',
    num_classes=1,
    d_model=d_model,
    data_preprocessor=dict(type='AVSDataPreprocessor', size_divisor=32),
    backbone=dict(type='TinyConvBackbone'),
    audio_encoder=dict(type='TinyAudioEncoder', out_channels=128),
    neck=dict(type='DeformableEncoderNeck', out_channels=d_model, encoder_levels=(1, 2, 3),
              num_layers=2, num_heads=4, num_points=4, dim_feedforward=128, dropout=0.0,
              num_groups=8),
    decoder=dict(type='AudioConditionedDecoder', num_queries=num_queries, d_model=d_model,
                 nhead=4, num_layers=2, dim_feedforward=128, dropout=0.0,
                 query_generator=dict(num_layers=2, dim_feedforward=128),
                 learnable_queries=True),
    fusion=dict(type='CrossModalMixer', dim=d_model, num_heads=4, qkv_bias=False, dropout=0.0),
    head=dict(type='QueryMixingMaskHead', num_queries=num_queries, channels=d_model,
              hidden_dim=128, num_mlp_layers=3, scale_factor=4),
    criterion=dict(type='IoUMixLoss', iou_weight=1.0, mix_weight=0.1, eps=0.002),
    test_cfg=dict(mask_threshold=0.5),
)
