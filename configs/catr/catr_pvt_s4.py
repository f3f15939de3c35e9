# CATR, PVT-v2-b5, AVSBench-object S4 (single source). Published: see configs/catr/README.md.
_base_ = [
    '../_base_/models/catr_pvt.py', '../_base_/datasets/avsbench_s4.py',
    '../_base_/schedules/catr_adam.py', '../_base_/default_runtime.py'
]

# Adam, lr 1e-5, gradient clip 5 (schedules/catr_adam.py), 2 clips per GPU, seed 123
# (default_runtime.py). 100 epochs: the released train.py's --max_epoches default.
max_epochs = 100
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
# the best checkpoint is chosen on the val split (the released code chose it on test)
default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
auto_scale_lr = dict(enable=False, base_batch_size=2)
