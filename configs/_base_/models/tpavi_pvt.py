# TPAVI (AVSBench baseline, Zhou et al. ECCV 2022) with a PVT-v2-b5 backbone, computing what
# the released code computes (OpenNLPLab/AVSBench, avs_scripts/{avs_s4,avs_ms3,avss}/model/
# PVT_AVSModel.py, model/TPAVI.py, loss.py): tests/models/test_tpavi_parity.py checks it
# against the released code's outputs, losses and gradients. This file is the S4/MS3 model
# (binary); the AVSS leaf configs switch task, classes and the audio projection's bias.
# File:line references are to the released code at commit f7414af.
d_model = 256  # channel=256 (avs_s4/model/PVT_AVSModel.py:139)
model = dict(
    type='TPAVI',
    task='binary',
    num_classes=1,  # Conv2d(32, 1, 1) (avs_s4/model/PVT_AVSModel.py:175); AVSS: 71
    stages=(0, 1, 2, 3),  # --tpavi_stages 0 1 2 3 (train.sh / test.sh of every setting)
    data_preprocessor=dict(type='AVSDataPreprocessor', size_divisor=32),
    backbone=dict(
        type='PVTv2B5Backbone',
        drop_path_rate=0.1,  # pvt_v2_b5(drop_path_rate=0.1) (avs_s4/model/pvt.py:413-420)
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/pvt_v2_b5.pth')),
    # conv1-4 = Classifier_Module([3, 6, 12, 18]) on every level, weights N(0, 0.01)
    # (PVT_AVSModel.py:9-22,156-159)
    neck=dict(type='ASPPSumNeck', out_channels=d_model, dilations=(3, 6, 12, 18),
              weight_std=0.01),
    # VGGish runs frozen outside the model (FREEZE_AUDIO_EXTRACTOR = True, train.py:21-28):
    # no gradients, not in the optimiser
    audio_encoder=dict(
        type='VGGish',
        frozen=True,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/vggish-10086976.pth')),
    # TPAVIModule(in_channels=256, mode='dot') (PVT_AVSModel.py:166-168; TPAVI.py:7-153):
    # inter channels 128, groups of 5 frames (PVT_AVSModel.py:182-187,210), align_channel
    # Linear(128, 256) with a bias in S4/MS3 (avs_s4/model/TPAVI.py:37)
    fusion=dict(type='TPAVIBlock', inter_channels=128, frames_per_group=5, audio_bias=True,
                impl='fast'),  # 'reference' materialises the [5hw, 5hw] matrix as released
    # path1-4 (FeatureFusionBlock) + output_conv 256 -> 128 -> x2 -> 32 -> K
    # (PVT_AVSModel.py:87-103,160-176,256-262)
    head=dict(type='RefineNetHead', mid_channels=128, low_channels=32),
    # S4: BCE on the sigmoid of frame 0 of each clip, mean over pixels and clips; no matching
    # term (train.sh passes no --sa_loss_flag) (avs_s4/loss.py:7-26,80-111)
    criterion=dict(type='TPAVICriterion', seg_loss=dict(type='MaskBCELoss'),
                   matching_loss=None),
    test_cfg=dict(mask_threshold=0.5),  # mask_iou / Eval_Fmeasure on sigmoid > 0.5
)
