# A small CATR trained on SynthAVS (S4 layout) on the CPU in a few minutes.
_base_ = [
    '../_base_/models/catr_tiny.py', '../_base_/datasets/synthavs_s4.py',
    '../_base_/schedules/catr_adam.py', '../_base_/default_runtime.py'
]

optim_wrapper = dict(optimizer=dict(lr=1e-3))
# 10 epochs, validated every 2: generating the data, training and testing take about 12 minutes
# on 2 CPU cores (README, Quick start)
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
                        eta_min=1e-5)]
default_hooks = dict(logger=dict(interval=20))
