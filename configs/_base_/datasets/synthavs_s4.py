# SynthAVS in the AVSBench-object S4 layout (generated; see README "Demo data").
dataset_type = 'S4Dataset'
data_root = 'data/synthavs_s4'
num_frames = 5
# SynthAVS frames are 64 x 64; like the authors (224 -> 448) the model sees them
# upsampled, so that stride-4 mask features resolve the small objects. Labels are
# scored at their own size.
image_size = 128
# Written to data_root on first use when its csv is missing (catravs.datasets.synthavs).
synthesize = dict(num_train=600, num_val=60, num_test=60, image_size=64, seed=0)

train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='ClipResize', scale=image_size),
    dict(type='ClipRandomFlip', prob=0.5),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='ClipResize', scale=image_size, resize_masks=False),
    dict(type='PackAVSInputs'),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 num_frames=num_frames, pipeline=train_pipeline,
                 synthesize=synthesize))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 num_frames=num_frames, pipeline=test_pipeline,
                 synthesize=synthesize))
test_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 num_frames=num_frames, pipeline=test_pipeline,
                 synthesize=synthesize))
val_evaluator = dict(type='AVSBinaryMetric')
test_evaluator = val_evaluator
