# A small TPAVI trained on SynthAVS (S4 layout) on the CPU: the model of
# _base_/models/tpavi_tiny.py on the clips of AVSegFormer's and CATR's tiny comparisons
# (data/synthavs_s4_per_clip: one sound source per clip, generated on first use), frames at
# their own 64 x 64 (the head's last convolutions run at the full input size).
# Schedule: the released optimiser (Adam, no weight decay) at the tiny models' lr 1e-3 with
# a cosine decay to 1e-5 (as CATR's and AVSegFormer's tiny configs), 8 epochs.
_base_ = [
    '../_base_/models/tpavi_tiny.py', '../_base_/datasets/synthavs_s4_per_clip_64.py',
    '../_base_/schedules/tpavi_adam.py', '../_base_/default_runtime.py'
]

optim_wrapper = dict(optimizer=dict(lr=1e-3))
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
                        eta_min=1e-5)]
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1), logger=dict(interval=50))
