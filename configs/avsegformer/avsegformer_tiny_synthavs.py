# A small AVSegFormer trained on SynthAVS (S4 layout) on the CPU: the model of
# _base_/models/avsegformer_tiny.py. The data: SynthAVS with one sound source per clip
# (data/synthavs_s4_per_clip, generated on first use), the data of CATR's tiny ablations
# (configs/catr/ablations/catr_tiny_full.py), so that the two methods compare on the same
# clips (README: "CATR and AVSegFormer on SynthAVS"), at 64 x 64: the mask head ends in a 3x3
# conv at the full input size (128 -> 32 channels, released), which at 128 x 128 costs 4x as
# much and made a step 2.5x slower than tiny CATR's on the CPU.
# Schedule: the released optimiser type (AdamW, weight decay 0.01) at the tiny models' lr
# 1e-3 with a cosine decay to 1e-5 (as CATR's tiny configs), 8 epochs, no backbone freezing
# (the tiny backbone starts from random weights: there is nothing to keep).
_base_ = [
    '../_base_/models/avsegformer_tiny.py', '../_base_/datasets/synthavs_s4_per_clip_64.py',
    '../_base_/schedules/avsegformer_adamw.py', '../_base_/default_runtime.py'
]

optim_wrapper = dict(optimizer=dict(lr=1e-3))
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
                        eta_min=1e-5)]
custom_hooks = []
find_unused_parameters = False
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1), logger=dict(interval=50))
