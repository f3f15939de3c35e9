# A small TPAVI for CPU demos: the structure of tpavi_pvt.py (summed dilated convolutions,
# a TPAVI block at every stage over groups of 5 frames, the RefineNet head, BCE + 0.5 x the
# KL matching term) with a tiny conv backbone, a tiny trainable audio encoder and width 32.
d_model = 32
model = dict(
    type='TPAVI',
    task='binary',
    num_classes=1,
    stages=(0, 1, 2, 3),
    data_preprocessor=dict(type='AVSDataPreprocessor', size_divisor=32),
    backbone=dict(type='TinyConvBackbone'),
    # PyTorch's default init (the released N(0, 0.01) of tpavi_pvt.py starts this narrow
    # model from features so small that training stalls for epochs on some seeds)
    neck=dict(type='ASPPSumNeck', out_channels=d_model, dilations=(1, 2, 3, 4),
              weight_std=None),
    audio_encoder=dict(type='TinyAudioEncoder', out_channels=128),
    fusion=dict(type='TPAVIBlock', inter_channels=16, frames_per_group=5, audio_bias=True),
    head=dict(type='RefineNetHead', mid_channels=32, low_channels=16),
    # the matching term averaged over the annotated frames (MS3's is a sum over the batch)
    criterion=dict(type='TPAVICriterion', seg_loss=dict(type='MaskBCELoss'),
                   matching_loss=dict(type='AudioVisualMatchingLoss', mask='sigmoid',
                                      frames='mean', loss_weight=0.5)),
    test_cfg=dict(mask_threshold=0.5),
)
