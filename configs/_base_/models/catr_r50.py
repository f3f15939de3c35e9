# CATR with a ResNet-50 visual backbone and a frozen VGGish audio encoder, with the
# authors' sizes: d_model 256, 8 heads, FFN 2048 (temporal blocks: 256), N_e = N_d = 3,
# 50 queries, dropout 0.1, mask features of 64 channels.
#
# N_e / N_d = 3 / 3: the released code's MultimodalTransformer defaults
# (num_encoder_layers=3, num_decoder_layers=3); its temporal encoder reads exactly three
# block outputs (gate[0..2]), so N_e = 3 is the only value it runs with. Its yaml (which
# would hold the values used for the paper) is not in the release.
#
# Pretrained files (download them into pretrained/, see configs/catr/README.md):
#   pretrained/resnet50-19c8e357.pth  torchvision ImageNet ResNet-50
#   pretrained/vggish-10086976.pth    torchvggish VGGish (AudioSet)
#
# Options that reproduce the released code's quirks (all off here; see the README):
#   model.criterion.loss_bce.authors_double_sigmoid, model.fusion.reuse_first_gate,
#   model.fusion.double_modulation, model.head.authors_stride16,
#   model.decoder.query_init ('learned': released code; 'audio': the paper's wording).
d_model = 256
model = dict(
    type='CATR',
    task='binary',
    num_classes=1,
    d_model=d_model,
    token_level=1,  # stride-8 level -> video tokens
    audio_dropout=0.1,
    data_preprocessor=dict(type='AVSDataPreprocessor', size_divisor=32),
    backbone=dict(
        type='ResNet50Backbone',
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet50-19c8e357.pth')),
    neck=dict(type='ASPPSumNeck', out_channels=d_model, dilations=(3, 6, 12, 18)),
    audio_encoder=dict(
        type='VGGish',
        frozen=True,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/vggish-10086976.pth')),
    fusion=dict(
        type='CombinatorialDependenceFusion',
        d_model=d_model,
        nhead=8,
        num_layers=3,  # N_e
        dim_feedforward=2048,
        temporal_feedforward=256,
        dropout=0.1,
        double_modulation=False,
        reuse_first_gate=False),
    decoder=dict(
        type='AudioQueriedDecoder',
        num_queries=50,
        d_model=d_model,
        nhead=8,
        num_layers=3,  # N_d
        dim_feedforward=2048,
        dropout=0.1,
        query_init='learned'),
    head=dict(type='DynamicMaskHead', channels=d_model, mask_dim=64, authors_stride16=False),
    criterion=dict(
        type='MaskSetCriterion',
        matcher=dict(type='HungarianMatcher', cost_class=1.0, cost_dice=7.0),
        loss_cls=dict(type='ClassificationLoss', eos_coef=0.1, loss_weight=1.0),
        loss_focal=dict(type='SigmoidFocalLoss', loss_weight=5.0),
        loss_dice=dict(type='DiceLoss', loss_weight=5.0),
        loss_bce=dict(type='MaskBCELoss', loss_weight=4.0, authors_double_sigmoid=False),
        aux_loss=True),
    test_cfg=dict(mask_threshold=0.5),
)
