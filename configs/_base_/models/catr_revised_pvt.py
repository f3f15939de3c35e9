# catravs' revision of CATR (see catr_revised_r50.py) with the PVT-v2-b5 backbone.
_base_ = ['./catr_revised_r50.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='PVTv2B5Backbone',
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/pvt_v2_b5.pth')))
