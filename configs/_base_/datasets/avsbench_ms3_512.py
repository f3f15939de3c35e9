# AVSBench-object MS3 as the released AVSegFormer loader prepares it
# (dataloader/ms3_dataset.py:43-51): as avsbench_s4_512.py, frames and masks resized to
# 512 x 512 with PIL, no augmentation; all 5 frames annotated.
_base_ = ['./avsbench_ms3.py']

input_size = 512
train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='ClipResize', scale=input_size, backend='pillow'),
    dict(type='PackAVSInputs'),
]
test_pipeline = train_pipeline

# 2 clips per batch for train, val and test (config/ms3/*.py:54,63,72)
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=2, dataset=dict(pipeline=test_pipeline))
# scripts/ms3/test.py: per batch of 2 clips, as S4
val_evaluator = dict(type='AVSBinaryMetric', fscore_batch_size=2)
test_evaluator = val_evaluator
