# AVSBench-semantic (AVSS). data_root is the AVSBench-semantic folder:
#   data/AVSBench/avss/metadata.csv, data/AVSBench/avss/label2idx.json (71 classes)
#   data/AVSBench/avss/{v1s,v1m,v2}/{uid}/{frames/*.jpg, labels_rgb/*.png, audio.wav}
# Clips are padded to 10 frames (v1s/v1m have 5). Frames and labels as AVSBench-semantic's
# loader prepares them, with PIL (backend='pillow'; bilinear frames, nearest labels):
# training resizes the short side to 224 and centre-crops 224 x 224 (crop_resize_img);
# val/test resize the whole frame to 224 x 224 (resize_img), nothing cropped. Frames are
# then upsampled to 448 for the network, labels kept at 224 (scores are at 224 x 224).
# Audio: VGGish log-mel computed from audio.wav (AVSS ships no .pkl), cut as AVSBench's
# whole-clip examples (wav_slicing='clip').
dataset_type = 'AVSSDataset'
data_root = 'data/AVSBench/avss'
num_frames = 10
num_classes = 71  # 70 sounding-object classes + background
label_size = 224
input_size = 448

train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='semantic', num_classes=num_classes),
    dict(type='LoadClipAudio', source='wav', wav_slicing='clip'),
    dict(type='ClipShortSideResizeCenterCrop', size=label_size, backend='pillow'),
    dict(type='ClipResize', scale=input_size, resize_masks=False),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='semantic', num_classes=num_classes),
    dict(type='LoadClipAudio', source='wav', wav_slicing='clip'),
    dict(type='ClipResize', scale=label_size, backend='pillow'),
    dict(type='ClipResize', scale=input_size, resize_masks=False),
    dict(type='PackAVSInputs'),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,  # page-locked batches: faster, asynchronous copies to the GPU
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 num_frames=num_frames, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    pin_memory=True,  # page-locked batches: faster, asynchronous copies to the GPU
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 num_frames=num_frames, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    pin_memory=True,  # page-locked batches: faster, asynchronous copies to the GPU
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 num_frames=num_frames, pipeline=test_pipeline))
# Both conventions in one run: mIoU / F-score score the real frames only (save_best uses
# mIoU); mIoU(avsbench) / F-score(avsbench) also score the black padding frames of the
# 5-frame clips against all-background labels, as AVSBench's test does: compare those
# with the published AVSS numbers.
val_evaluator = dict(type='AVSSemanticMetric', num_classes=num_classes)
test_evaluator = val_evaluator
