# CATR, ResNet-50, AVSBench-semantic (AVSS, 71 classes incl. background, 10 frames per clip).
_base_ = [
    '../_base_/models/catr_r50.py', '../_base_/datasets/avsbench_avss.py',
    '../_base_/schedules/catr_adam.py', '../_base_/default_runtime.py'
]

# one query class per AVSS class (background included) + the no-object class
model = dict(task='semantic', num_classes=71)

# Adam, lr 1e-5, gradient clip 5, 2 clips per GPU, seed 123. The released code has no AVSS
# schedule; 100 epochs as its S4 default (train.py --max_epoches).
max_epochs = 100
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
auto_scale_lr = dict(enable=False, base_batch_size=2)
