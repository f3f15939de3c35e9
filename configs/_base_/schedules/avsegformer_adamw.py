# The released AVSegFormer optimisation (vvvb-github/AVSegFormer, commit 7083cb6), S4 values;
# ms3 / avss leaf configs change the epochs, the unfreeze epoch and validation.
# - AdamW, lr 2e-5 (config/s4/AVSegFormer_pvt2_s4.py:73-75); everything else torch's
#   defaults (utils/pyutils.py:163-164 passes only lr): betas (0.9, 0.999), eps 1e-8,
#   weight_decay 0.01. All parameters are in the optimizer, frozen ones too
#   (model.parameters()); AdamW skips those without a gradient. No gradient clipping and no
#   learning-rate schedule (scripts/s4/train.py:96-98).
# - 30 epochs (config/s4/*.py:83 train_epochs); validation after every epoch, the best
#   validation mIoU kept (scripts/s4/train.py:107-137; default_runtime.py: save_best).
# - Backbone frozen until epoch 5, 0-based (config/s4/*.py:84 freeze_epochs;
#   model/AVSegFormer.py:33 freezes it at construction, scripts/s4/train.py:76-77 unfreezes
#   it): FreezeModulesHook. The frozen modules get no gradient, so distributed runs need
#   find_unused_parameters (the released code ran DataParallel, which does not care).
# - Seed 123 (scripts/s4/train.py:20): default_runtime.py.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
)
max_epochs = 30
freeze_epochs = 5
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = []
custom_hooks = [dict(type='FreezeModulesHook', unfreeze_at=freeze_epochs,
                     module_names=['backbone'])]
find_unused_parameters = True
# the released batch: 2 clips (S4 / MS3, config/s4/*.py:54) on however many GPUs
# DataParallel had; auto_scale_lr (off) scales lr from it
auto_scale_lr = dict(enable=False, base_batch_size=2)
