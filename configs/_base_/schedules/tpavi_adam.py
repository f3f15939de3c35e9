# The released TPAVI optimisation (avs_scripts/{avs_s4,avs_ms3,avss}/train.py): Adam on every
# parameter of the model, backbone included, from the first step (avs_s4/train.py:150-151,
# avs_ms3/train.py:163-164, avss/train.py:163-164), lr 1e-4 (train.sh --lr 0.0001), default
# betas and eps, constant lr (no scheduler), no weight decay (--wt_dec is parsed, never used:
# avs_s4/train.py:41), no gradient clipping. VGGish is not in the optimiser (frozen).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0),
)
param_scheduler = []
max_epochs = 15  # avs_s4/train.py:38 (--max_epoches default; S4 train.sh passes none)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# 4 clips per batch (train.sh --train_batch_size 4), on however many GPUs DataParallel had
auto_scale_lr = dict(enable=False, base_batch_size=4)
