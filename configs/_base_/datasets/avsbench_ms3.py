# AVSBench-object, multiple sources (MS3). data_root is AVSBench's "Multi-sources" folder:
#   data/AVSBench/ms3/ms3_meta_data.csv
#   data/AVSBench/ms3/ms3_data/visual_frames/{name}/{name}.mp4_{1..5}.png
#   data/AVSBench/ms3/ms3_data/{gt_masks,audio_wav,audio_log_mel}/{split}/...
# All 5 frames are annotated. Frames 224 -> 448 for the network, labels kept at 224
# (see avsbench_s4.py). No training augmentation: the released CATR code covers S4 only
# and AVSBench trains MS3 without augmentation.
dataset_type = 'MS3Dataset'
data_root = 'data/AVSBench/ms3'
data_prefix = dict(frames='ms3_data/visual_frames', masks='ms3_data/gt_masks',
                   wav='ms3_data/audio_wav', log_mel='ms3_data/audio_log_mel')
num_frames = 5
input_size = 448

train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='ClipResize', scale=input_size, resize_masks=False),
    dict(type='PackAVSInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,  # page-locked batches: faster, asynchronous copies to the GPU
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix,
                 split='train', num_frames=num_frames, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    pin_memory=True,  # page-locked batches: faster, asynchronous copies to the GPU
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix,
                 split='val', num_frames=num_frames, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    pin_memory=True,  # page-locked batches: faster, asynchronous copies to the GPU
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix,
                 split='test', num_frames=num_frames, pipeline=test_pipeline))
val_evaluator = dict(type='AVSBinaryMetric', fscore_batch_size=1)
test_evaluator = val_evaluator
