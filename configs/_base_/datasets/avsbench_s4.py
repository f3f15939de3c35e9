# AVSBench-object, single source (S4). data_root is AVSBench's "Single-source" folder:
#   data/AVSBench/s4/s4_meta_data.csv
#   data/AVSBench/s4/s4_data/{visual_frames,gt_masks,audio_wav,audio_log_mel}/...
# Frames and masks are 224 x 224. As the authors do, frames are upsampled to 448 x 448
# for the network while the labels stay at 224 x 224: ClipResize(resize_masks=False)
# keeps gt_masks at their own size, the loss resizes them to the prediction size and the
# predictions are resized to the labels, so J and F are computed at 224 x 224.
# Training clips have a label for frame 1 only (the other frames still feed the model).
dataset_type = 'S4Dataset'
data_root = 'data/AVSBench/s4'
data_prefix = dict(frames='s4_data/visual_frames', masks='s4_data/gt_masks',
                   wav='s4_data/audio_wav', log_mel='s4_data/audio_log_mel')
num_frames = 5
label_size = 224
input_size = 448

# The released S4 training augmentation (CATR/dataloader.py, S4Dataset): torchvision's
# RandomAffine(degrees=20, scale=(0.5, 1.0), shear=10) (nearest interpolation, fill 0),
# Resize(224) (short side; bilinear for frames, nearest for masks), RandomCrop(224,
# pad_if_needed, fill (124, 116, 104) for frames (RGB) and 0 for masks),
# RandomHorizontalFlip; the same transforms from torchvision v2, drawn once per clip and
# shared by all its frames and masks (the released code re-seeds torch per frame to get
# that). Then, as the released code, frames are upsampled to 448 and labels stay at 224.
train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='ClipTorchvision', transforms=[
        dict(type='RandomAffine', degrees=20, scale=(0.5, 1.0), shear=10),
        dict(type='Resize', size=label_size),
        dict(type='RandomCrop', size=label_size, pad_if_needed=True,
             fill=dict(Image=(124, 116, 104), Mask=0)),
        dict(type='RandomHorizontalFlip'),
    ]),
    dict(type='ClipResize', scale=input_size, resize_masks=False),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='ClipResize', scale=input_size, resize_masks=False),
    dict(type='PackAVSInputs'),
]

train_dataloader = dict(
    batch_size=2,  # clips per GPU (authors: 2)
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
# F as the authors report it (one clip per F group) plus the batch-independent value
val_evaluator = dict(type='AVSBinaryMetric', fscore_batch_size=1)
test_evaluator = val_evaluator
