# AVSegFormer with a ResNet-50 backbone (config/s4/AVSegFormer_res50_s4.py): everything else
# as avsegformer_pvt.py (read its header for how a leaf config switches task/classes).
# The released B2_ResNet path is torchvision's conv1..layer2, layer3_1 = layer3 and
# layer4_1 = layer4 (its second branch never runs); BatchNorm trains in train mode as
# released (no norm_eval). Pretrained file: pretrained/resnet50-19c8e357.pth.
_base_ = ['./avsegformer_pvt.py']

model = dict(
    channels_last=True,  # NHWC convolutions: about 1.06x the CPU train step (docs/benchmark.md)
    backbone=dict(
        _delete_=True,
        type='ResNet50Backbone',
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet50-19c8e357.pth')))
