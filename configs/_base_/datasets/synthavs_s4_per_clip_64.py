# SynthAVS in the S4 layout with one sound source per clip (data/synthavs_s4_per_clip,
# generated on first use: the clips of CATR's tiny ablations), frames at their own 64 x 64.
# The tiny AVSegFormer and TPAVI configs train on it: their heads end in convolutions at the
# full input size, so the 128 x 128 upsampling of synthavs_s4.py would cost 4x as much there.
# Labels are scored at 64 x 64 either way.
_base_ = ['./synthavs_s4.py']

data_root = 'data/synthavs_s4_per_clip'
synthesize = dict(num_train=600, num_val=60, num_test=60, image_size=64, seed=0,
                  sources='per_clip')
train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='ClipRandomFlip', prob=0.5),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(dataset=dict(data_root=data_root, synthesize=synthesize,
                                     pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, synthesize=synthesize,
                                   pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(data_root=data_root, synthesize=synthesize,
                                    pipeline=test_pipeline))
