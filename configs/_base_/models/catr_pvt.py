# CATR with a PVT-v2-b5 visual backbone (channels 64, 128, 320, 512); everything else as
# catr_r50.py. Pretrained file: pretrained/pvt_v2_b5.pth (the original PVT repository's
# ImageNet weights, its key naming), see configs/catr/README.md.
_base_ = ['./catr_r50.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='PVTv2B5Backbone',
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/pvt_v2_b5.pth')))
