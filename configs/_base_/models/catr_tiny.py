# A small CATR for CPU demos: the same structure as the published model with
# a tiny conv backbone, a tiny trainable audio encoder and narrow transformers.
d_model = 64
model = dict(
    type='CATR',
    task='binary',
    num_classes=1,
    d_model=d_model,
    token_level=1,
    audio_dropout=0.1,
    data_preprocessor=dict(type='AVSDataPreprocessor', size_divisor=32),
    backbone=dict(type='TinyConvBackbone'),
    neck=dict(type='ASPPSumNeck', out_channels=d_model, dilations=(1, 2, 3, 4)),
    audio_encoder=dict(type='TinyAudioEncoder', out_channels=128),
    fusion=dict(
        type='CombinatorialDependenceFusion', d_model=d_model, nhead=4, num_layers=2,
        dim_feedforward=128, temporal_feedforward=64, dropout=0.0),
    decoder=dict(
        type='AudioQueriedDecoder', num_queries=8, d_model=d_model, nhead=4, num_layers=2,
        dim_feedforward=128, dropout=0.0, query_init='audio'),
    head=dict(type='DynamicMaskHead', channels=d_model, mask_dim=32),
    criterion=dict(
        type='MaskSetCriterion',
        matcher=dict(type='HungarianMatcher', cost_class=1.0, cost_dice=7.0),
        loss_cls=dict(type='ClassificationLoss', eos_coef=0.1, loss_weight=2.0),
        loss_focal=dict(type='SigmoidFocalLoss', loss_weight=5.0),
        loss_dice=dict(type='DiceLoss', loss_weight=5.0),
        loss_bce=dict(type='MaskBCELoss', loss_weight=4.0),
        aux_loss=True),
    test_cfg=dict(mask_threshold=0.5),
)
