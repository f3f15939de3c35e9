# AVSegFormer, ResNet-50, AVSBench-semantic (AVSS: 71 classes incl. background, 10 frames per
# clip), as the released code trains it (vvvb-github/AVSegFormer, commit 7083cb6,
# config/avss/AVSegFormer_res50_avss.py). Published: see configs/avsegformer/README.md.
# Model: _base_/models/avsegformer_r50.py with 71 classes (:16 num_classes=71).
# Data: 224 x 224, 10 frames, 4 clips per batch (:45-87): _base_/datasets/avsbench_avss_224.py.
# Schedule: AdamW lr 2e-5 (:88-90), 30 epochs (:97), backbone trained from the start (:100
# freeze_epochs=0). Validation: the released code validates after 0-based epochs 10, 12, ...,
# 28 (:98-99 start_eval_epoch=10, eval_interval=2; scripts/avss/train.py:118), i.e. after
# 11, 13, ..., 29 epochs; MMEngine's loop validates when the epochs done are a multiple of
# val_interval, so here after 12, 14, ..., 30 (val_begin=11, val_interval=2). The best
# checkpoint is the one with the best val mIoU over all 10 frames of each clip, padding
# frames included (scripts/avss/train.py:153-170: AVSSemanticMetric's mIoU(avsbench)).
_base_ = [
    '../_base_/models/avsegformer_r50.py', '../_base_/datasets/avsbench_avss_224.py',
    '../_base_/schedules/avsegformer_adamw.py', '../_base_/default_runtime.py'
]

model = dict(task='semantic', num_classes=71)
freeze_epochs = 0
train_cfg = dict(val_begin=11, val_interval=2)
custom_hooks = [dict(type='FreezeModulesHook', unfreeze_at=freeze_epochs,
                     module_names=['backbone'])]
default_hooks = dict(checkpoint=dict(save_best='mIoU(avsbench)'))
# 4 clips per batch (config/avss/*.py:59)
auto_scale_lr = dict(base_batch_size=4)
