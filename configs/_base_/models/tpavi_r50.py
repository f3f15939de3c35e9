# TPAVI with a ResNet-50 backbone (avs_scripts/*/model/ResNet_AVSModel.py): everything else as
# tpavi_pvt.py. The released B2_ResNet path is torchvision's conv1..layer2, layer3_1 = layer3
# and layer4_1 = layer4 (ResNet_AVSModel.py:214-221; its second branch layer3_2/layer4_2
# never runs); BatchNorm trains in train mode as released. Levels 256/512/1024/2048.
# Pretrained file: pretrained/resnet50-19c8e357.pth (ResNet_AVSModel.py:264-285).
_base_ = ['./tpavi_pvt.py']

model = dict(
    channels_last=True,  # NHWC convolutions: about 1.06x the CPU train step (docs/benchmark.md)
    backbone=dict(
        _delete_=True,
        type='ResNet50Backbone',
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet50-19c8e357.pth')))
