# The authors' optimisation: Adam, lr 1e-5, gradient clipping at norm 5.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-5, weight_decay=0.0),
    clip_grad=dict(max_norm=5.0, norm_type=2),
)
max_epochs = 15
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = []
