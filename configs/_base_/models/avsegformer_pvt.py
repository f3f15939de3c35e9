# AVSegFormer (Gao et al., AAAI 2024) with a PVT-v2-b5 backbone, as the released code
# computes it (vvvb-github/AVSegFormer @ 7083cb6: model/AVSegFormer.py, model/head/AVSegHead.py,
# config/s4/AVSegFormer_pvt2_s4.py); tests/models/test_avsegformer_parity.py checks it
# against that code's outputs, losses and gradients. Binary task (S4/MS3), as released.
#
# A leaf config switches:
#   * to AVSS (71 classes, background included; cross-entropy instead of the dice):
#       model = dict(task='semantic', num_classes=71)
#   * the frames per clip: nothing here depends on T (frames never interact; the dataset
#     config gives T); S4 supervises the annotated frames the data samples mark.
# The backbone is frozen for the released configs' first epochs by a hook (leaf configs);
# its BatchNorm-free PVT / the ResNet-50's BatchNorm train in train mode as released.
# Where the released code is broken, this model computes what was meant: the CrossModalMixer
# works at B*T = 1 (the released squeeze() fails there), and each clip keeps its own audio
# (the released AVSS loader's wav paths stop matching the frames on more than one GPU).
# Padded frames (valid_frames off) get zero features, logits and mask feature, and the loss
# counts only annotated frames (annotated_frames; 255 = not annotated), as the released
# vid_temporal_mask_flag / gt_temporal_mask_flag do.
# State dict: backbone.*, audio_encoder.*, audio_proj.*, neck.*, decoder.*, fusion.*, head.*;
# tools/model_converters/avsegformer_released_to_catravs.py maps the released checkpoints.
d_model = 256
model = dict(
    type='AVSegFormer',
    task='binary',
    num_classes=1,  # head num_classes=1 (config/s4/AVSegFormer_pvt2_s4.py)
    d_model=d_model,  # embed_dim=256
    data_preprocessor=dict(type='AVSDataPreprocessor', size_divisor=32),
    backbone=dict(
        type='PVTv2B5Backbone',
        drop_path_rate=0.1,  # the released pvt_v2_b5 (model/backbone/pvt.py)
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/pvt_v2_b5.pth')),
    audio_encoder=dict(  # frozen, run under no_grad (AVSegFormer.py:30-31,67)
        type='VGGish',
        frozen=True,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/vggish-10086976.pth')),
    neck=dict(  # AVSegHead in_proj / transformer.encoder / lateral_conv / out_conv
        type='DeformableEncoderNeck',
        out_channels=d_model,
        encoder_levels=(1, 2, 3),  # valid_indices=[1, 2, 3]: strides 8, 16, 32
        num_layers=6,  # encoder num_layers=6
        num_heads=8,
        num_points=4,  # AVSTransformerEncoderLayer defaults
        dim_feedforward=2048,  # encoder layer ffn_dim=2048
        dropout=0.1,  # encoder layer dropout=0.1
        num_groups=32),  # GroupNorm(32, embed_dim)
    decoder=dict(  # AVSegHead query_generator + learnable_query + transformer.decoder
        type='AudioConditionedDecoder',
        num_queries=300,  # query_num=300
        d_model=d_model,
        nhead=8,
        num_layers=6,  # decoder num_layers=6
        dim_feedforward=2048,  # decoder layer ffn_dim=2048
        dropout=0.1,  # decoder layer dropout=0.1
        query_generator=dict(num_layers=6, dim_feedforward=1024),  # AttentionGenerator
        learnable_queries=True),  # use_learnable_queries=True
    fusion=dict(type='CrossModalMixer', dim=d_model, num_heads=8, qkv_bias=False,
                dropout=0.0),  # fusion_block=dict(type='CrossModalMixer'), its defaults
    head=dict(
        type='QueryMixingMaskHead',
        num_queries=300,
        channels=d_model,
        hidden_dim=2048,  # MLP(query_num, 2048, embed_dim, 3)
        num_mlp_layers=3,
        scale_factor=4),  # scale_factor=4
    criterion=dict(  # scripts/{s4,avss}/loss.py, weight_dict of the released configs
        type='IoUMixLoss', iou_weight=1.0, mix_weight=0.1, eps=0.002),
    test_cfg=dict(mask_threshold=0.5),
)
