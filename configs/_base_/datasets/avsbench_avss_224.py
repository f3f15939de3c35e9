# AVSBench-semantic (AVSS) as the released AVSegFormer loader prepares it
# (dataloader/v2_dataset.py; config/avss/*.py:45-87): 10 frames per clip (mask_num=10; 5-frame
# v1s / v1m clips padded with black frames and background labels), 71 classes, frames and
# labels at 224 x 224 for the network and the scores (crop_size=224, no upsampling):
# training resizes the short side to 224 and centre-crops (crop_resize_img, :47-67),
# val / test resize the whole frame (resize_img, :70-77); PIL, bilinear frames, nearest
# labels. Audio: VGGish log-mel from audio.wav (the model's VGGish._preprocess, wav_slicing
# 'clip').
_base_ = ['./avsbench_avss.py']

label_size = 224
input_size = label_size  # what the network sees (read by benchmark.py); no upsampling
train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='semantic', num_classes=71),
    dict(type='LoadClipAudio', source='wav', wav_slicing='clip'),
    dict(type='ClipShortSideResizeCenterCrop', size=label_size, backend='pillow'),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='semantic', num_classes=71),
    dict(type='LoadClipAudio', source='wav', wav_slicing='clip'),
    dict(type='ClipResize', scale=label_size, backend='pillow'),
    dict(type='PackAVSInputs'),
]

# 4 clips per batch for train, val and test (config/avss/*.py:59,73,87)
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=4, dataset=dict(pipeline=test_pipeline))
# scripts/avss/test.py:76-107 (utils/compute_color_metrics.py): per-class IoU / F summed over
# all B*T frames, the padding frames included, mean over the 71 classes: AVSSemanticMetric's
# mIoU(avsbench) / F-score(avsbench). Its "noBg" values drop the LAST class (index 70), not
# the background (index 0): catravs does not report them.
val_evaluator = dict(type='AVSSemanticMetric', num_classes=71)
test_evaluator = val_evaluator
