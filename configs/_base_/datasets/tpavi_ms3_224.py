# What the released TPAVI S4 / MS3 loaders feed the network (avs_scripts/avs_s4/dataloader.py,
# avs_ms3/dataloader.py): the frames as stored, 224 x 224 (preprocess_scripts/preprocess_s4.py:46,
# preprocess_ms3.py:40), ImageNet mean / std, no augmentation (dataloader.py:44-50), the
# precomputed VGGish log-mel; labels at 224: avsbench_ms3.py (which upsamples to 448 for CATR)
# with these pipelines, batch sizes and evaluators.
_base_ = ['./avsbench_ms3.py']

input_size = 224  # what the network sees (read by benchmark.py); no upsampling
tpavi_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mask_type='binary'),
    dict(type='LoadClipAudio', source='log_mel'),
    dict(type='ClipResize', scale=input_size),  # a no-op on AVSBench's 224 x 224 frames
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(batch_size=4,  # train.sh --train_batch_size 4
                        dataset=dict(pipeline=tpavi_pipeline))
val_dataloader = dict(batch_size=1,  # --val_batch_size default 1 (avs_s4/train.py:37)
                      dataset=dict(pipeline=tpavi_pipeline))
test_dataloader = dict(batch_size=4,  # test.sh --test_batch_size 4
                       dataset=dict(pipeline=tpavi_pipeline))
# test.py: mask_iou and Eval_Fmeasure per test batch of 4 clips, averaged over batches
# (utils/utility.py:45-118): F grouped by 4 clips; the mean over frames equals the mean of
# per-batch means when every batch is full (the last, partial batch weighs more as released)
val_evaluator = dict(type='AVSBinaryMetric', fscore_batch_size=1)
test_evaluator = dict(type='AVSBinaryMetric', fscore_batch_size=4)
