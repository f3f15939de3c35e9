# AVSBench-object S4 as the released AVSegFormer loader prepares it
# (dataloader/s4_dataset.py:43-51): frames and masks resized to 512 x 512 with PIL
# (torchvision Resize([512, 512]) on PIL images: bilinear frames; the masks are mode '1'
# images, which PIL always resizes nearest), no augmentation, the same for train, val and
# test. The config's img_size=(224, 224) (config/s4/*.py:53) is unused. Scores are computed
# at 512 x 512 against the resized masks, as scripts/s4/test.py does. Normalisation (ImageNet
# mean / std, s4_dataset.py:46) is the model's data preprocessor's.
_base_ = ['./avsbench_s4.py']

input_size = 512
train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='ClipResize', scale=input_size, backend='pillow'),
    dict(type='PackAVSInputs'),
]
test_pipeline = train_pipeline

# 2 clips per batch for train, val and test (config/s4/*.py:54,63,72)
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=2, dataset=dict(pipeline=test_pipeline))
# scripts/s4/test.py:62-65: mask_iou and Eval_Fmeasure per batch of 2 clips, averaged over
# batches: F in groups of 2 clips (fscore_batch_size)
val_evaluator = dict(type='AVSBinaryMetric', fscore_batch_size=2)
test_evaluator = val_evaluator
